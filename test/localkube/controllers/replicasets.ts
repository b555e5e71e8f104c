// The ReplicaSet controller: keeps spec.replicas pods of each ReplicaSet
// (created from its template, owned by it through a controller owner
// reference), deletes the surplus (unscheduled, then pending, then not ready,
// then the youngest first, as the real controller ranks them), and writes
// status: replicas, fullyLabeledReplicas, readyReplicas, availableReplicas
// (ready for minReadySeconds), observedGeneration.
// It must never touch pods it does not own, nor ReplicaSets (the deployment
// controller scales them).
import type { Api } from '../api/rest.ts';
import { fromMetaLabelSelector, matchesLabels } from '../api/selectors.ts';
import type { KubeObject, JsonObject } from '../store/object.ts';
import { deepEqual, mutable } from '../store/object.ts';
import { isPodReady } from '../kinds/builtin/pods.ts';
import type { EventRecorder } from './events.ts';
import { QueuedController } from './controller.ts';

const RS = 'apps/replicasets';

/** controllerOf is the uid of the object's controller owner of the given kind, if any. */
export function controllerOf(obj: KubeObject, kind: string): string | undefined {
  return (obj.metadata.ownerReferences ?? []).find((r) => r.controller && r.kind === kind)?.uid;
}

/** isActivePod: not finished and not being deleted (what the real controller counts). */
export function isActivePod(pod: KubeObject): boolean {
  const phase = pod.status?.phase;
  return !pod.metadata.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed';
}

/** readySince is when the pod's Ready condition last became True (ms), or undefined when not ready. */
function readySince(pod: KubeObject): number | undefined {
  const c = (pod.status?.conditions ?? []).find((x: JsonObject) => x.type === 'Ready');
  if (!c || c.status !== 'True') return undefined;
  const t = Date.parse(c.lastTransitionTime ?? '');
  return Number.isNaN(t) ? 0 : t;
}

/** deletionRank orders pods from the first to delete to the last. */
function deletionRank(a: KubeObject, b: KubeObject): number {
  const key = (p: KubeObject): number[] => [
    p.spec?.nodeName ? 1 : 0,
    p.status?.phase === 'Pending' ? 0 : p.status?.phase === 'Unknown' ? 1 : 2,
    isPodReady(p) ? 1 : 0,
  ];
  const ka = key(a);
  const kb = key(b);
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] - kb[i];
  // Younger pods go first.
  return Date.parse(b.metadata.creationTimestamp ?? '') - Date.parse(a.metadata.creationTimestamp ?? '');
}

export class ReplicaSetController extends QueuedController {
  readonly #api: Api;
  readonly #recorder: EventRecorder;

  constructor(api: Api, recorder: EventRecorder) {
    super('replicaset controller');
    this.#api = api;
    this.#recorder = recorder;
    this.follow(api.store, (e) => {
      const ns = e.object.metadata.namespace;
      if (e.resource === RS) this.queue.add(`${ns}/${e.object.metadata.name}`);
      else if (e.resource === '/pods') {
        const owner = controllerOf(e.object, 'ReplicaSet');
        const rs = owner ? api.store.byUid(owner) : undefined;
        if (rs) this.queue.add(`${ns}/${rs.object.metadata.name}`);
      }
    });
    for (const rs of api.store.list(RS)) this.queue.add(`${rs.metadata.namespace}/${rs.metadata.name}`);
  }

  protected reconcile(key: string): void {
    const [ns, name] = key.split('/');
    const api = this.#api;
    const rsType = api.kinds.byKind('apps', 'ReplicaSet')!;
    const podType = api.kinds.byKind('', 'Pod')!;
    const rs = api.store.get(RS, ns, name);
    if (!rs || rs.metadata.deletionTimestamp) return;
    const selector = fromMetaLabelSelector(rs.spec?.selector);
    const owned = api.store.list('/pods', ns).filter((p) => controllerOf(p, 'ReplicaSet') === rs.metadata.uid && matchesLabels(selector, p.metadata.labels));
    let active = owned.filter(isActivePod);
    const want: number = rs.spec?.replicas ?? 1;
    if (active.length < want) {
      for (let i = active.length; i < want; i++) {
        try {
          const pod = api.create(podType, ns, this.#podFrom(rs));
          active.push(pod);
          this.#recorder.record(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`, { component: 'replicaset-controller' });
        } catch (err) {
          this.#recorder.record(rs, 'Warning', 'FailedCreate', `Error creating: ${(err as Error).message}`, { component: 'replicaset-controller' });
          throw err;
        }
      }
    } else if (active.length > want) {
      const doomed = [...active].sort(deletionRank).slice(0, active.length - want);
      for (const pod of doomed) {
        api.delete(podType, ns, pod.metadata.name, { preconditions: { uid: pod.metadata.uid } });
        this.#recorder.record(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name}`, { component: 'replicaset-controller' });
      }
      const gone = new Set(doomed.map((p) => p.metadata.uid));
      active = active.filter((p) => !gone.has(p.metadata.uid));
    }
    const now = api.clock();
    const minReadyMs = (rs.spec?.minReadySeconds ?? 0) * 1000;
    const templateLabels: Record<string, string> = rs.spec?.template?.metadata?.labels ?? {};
    let available = 0;
    let nextAvailableAt: number | undefined;
    for (const p of active) {
      const since = readySince(p);
      if (since === undefined) continue;
      if (minReadyMs === 0 || now - since >= minReadyMs) available++;
      else nextAvailableAt = Math.min(nextAvailableAt ?? Infinity, since + minReadyMs);
    }
    const status: JsonObject = {
      replicas: active.length,
      fullyLabeledReplicas: active.filter((p) => Object.entries(templateLabels).every(([k, v]) => p.metadata.labels?.[k] === v)).length,
      readyReplicas: active.filter(isPodReady).length,
      availableReplicas: available,
      observedGeneration: rs.metadata.generation,
    };
    const terminating = owned.filter((p) => p.metadata.deletionTimestamp).length;
    if (terminating > 0) status.terminatingReplicas = terminating;
    if (rs.status?.conditions) status.conditions = rs.status.conditions;
    if (!deepEqual(status, rs.status)) {
      api.mutate(rsType, ns, name, (o) => {
        o.status = status;
      }, 'status');
    }
    if (nextAvailableAt !== undefined) this.queue.addAfter(key, Math.max(10, nextAvailableAt - now + 10));
  }

  #podFrom(rs: KubeObject): JsonObject {
    const template = mutable(rs.spec?.template ?? {});
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: `${rs.metadata.name}-`,
        namespace: rs.metadata.namespace,
        labels: template.metadata?.labels ?? {},
        ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs.metadata.name, uid: rs.metadata.uid!, controller: true, blockOwnerDeletion: true }],
      },
      spec: template.spec ?? {},
    };
  }
}
