// core/v1 Events about a ReplicaGroup (what `kubectl describe rg` shows).
// Repeated identical events within a minute are counted on the first one
// instead of creating new objects. Must never fail a reconcile: Events are
// best-effort.
import type { ReplicaGroup } from '../api/index.ts';
import type { GroupEvent } from '../reconcile/index.ts';
import type { KubeClients } from './client.ts';

export class EventRecorder {
  private readonly kube: KubeClients;
  private readonly component: string;
  private readonly instance: string;
  private readonly recent = new Map<string, { name: string; count: number; at: number; first: Date }>();

  constructor(kube: KubeClients, component: string, instance: string) {
    this.kube = kube;
    this.component = component;
    this.instance = instance;
  }

  async emit(group: ReplicaGroup, e: GroupEvent, log: (err: unknown) => void): Promise<void> {
    const ns = group.metadata!.namespace!;
    const key = `${ns}/${group.metadata!.name}/${e.type}/${e.reason}/${e.message}`;
    const now = new Date();
    const prev = this.recent.get(key);
    try {
      if (prev && now.getTime() - prev.at < 60_000) {
        prev.count++;
        prev.at = now.getTime();
        await this.kube.core.patchNamespacedEvent({
          name: prev.name,
          namespace: ns,
          body: [
            { op: 'replace', path: '/count', value: prev.count },
            { op: 'replace', path: '/lastTimestamp', value: now.toISOString() },
          ],
        });
        return;
      }
      const created = await this.kube.core.createNamespacedEvent({
        namespace: ns,
        body: {
          metadata: { generateName: `${group.metadata!.name}.`, namespace: ns },
          involvedObject: {
            apiVersion: group.apiVersion,
            kind: group.kind ?? 'ReplicaGroup',
            name: group.metadata!.name,
            namespace: ns,
            uid: group.metadata!.uid,
            resourceVersion: group.metadata!.resourceVersion,
          },
          reason: e.reason,
          message: e.message,
          type: e.type,
          count: 1,
          firstTimestamp: now,
          lastTimestamp: now,
          source: { component: this.component },
          reportingComponent: this.component,
          reportingInstance: this.instance,
        },
      });
      this.recent.set(key, { name: created.metadata!.name!, count: 1, at: now.getTime(), first: now });
      if (this.recent.size > 1000) {
        const cutoff = now.getTime() - 60_000;
        for (const [k, v] of this.recent) if (v.at < cutoff) this.recent.delete(k);
      }
    } catch (err) {
      log(err);
    }
  }
}
