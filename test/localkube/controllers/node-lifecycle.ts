// The node lifecycle controller's reaction to a lost node, done at once rather
// than after the real 40 s grace: the node's conditions become Unknown
// ("Kubelet stopped posting node status."), it is tainted
// node.kubernetes.io/unreachable (NoSchedule and NoExecute), its pods' Ready
// condition becomes False, and each pod is evicted (deleted) once its
// toleration of the NoExecute taint runs out (300 s by default). When the node
// is back the taints go and the kubelet reports again.
// It must never kill processes: a lost node's pods are only marked and deleted.
import type { Api } from '../api/rest.ts';
import { ApiError } from '../api/errors.ts';
import type { JsonObject, KubeObject } from '../store/object.ts';
import { nowTimestamp } from '../store/object.ts';
import type { EventRecorder } from './events.ts';

const UNREACHABLE = 'node.kubernetes.io/unreachable';

export class NodeLifecycle {
  readonly #api: Api;
  readonly #recorder: EventRecorder;
  readonly #evictions = new Map<string, NodeJS.Timeout[]>();

  constructor(api: Api, recorder: EventRecorder) {
    this.#api = api;
    this.#recorder = recorder;
  }

  stop(): void {
    for (const timers of this.#evictions.values()) for (const t of timers) clearTimeout(t);
    this.#evictions.clear();
  }

  /** nodeLost marks a node unreachable and its pods not ready, and schedules evictions. */
  nodeLost(nodeName: string): void {
    const api = this.#api;
    const nodes = api.kinds.byKind('', 'Node')!;
    const pods = api.kinds.byKind('', 'Pod')!;
    const now = nowTimestamp(api.clock);
    api.mutate(nodes, '', nodeName, (n) => {
      const taints: JsonObject[] = (n.spec.taints ?? []).filter((t: JsonObject) => t.key !== UNREACHABLE);
      taints.push({ key: UNREACHABLE, effect: 'NoSchedule', timeAdded: now }, { key: UNREACHABLE, effect: 'NoExecute', timeAdded: now });
      n.spec.taints = taints;
    });
    api.mutate(nodes, '', nodeName, (n) => {
      n.status.conditions = (n.status.conditions ?? []).map((c: JsonObject) => ({
        ...c,
        status: 'Unknown',
        reason: 'NodeStatusUnknown',
        message: 'Kubelet stopped posting node status.',
        lastTransitionTime: c.status === 'Unknown' ? c.lastTransitionTime : now,
      }));
    }, 'status');
    const node = api.store.get('/nodes', undefined, nodeName);
    if (node) this.#recorder.record(node, 'Normal', 'NodeNotReady', `Node ${nodeName} status is now: NodeNotReady`, { component: 'node-controller' });
    const timers: NodeJS.Timeout[] = [];
    for (const pod of api.store.list('/pods')) {
      if (pod.spec?.nodeName !== nodeName) continue;
      api.mutate(pods, pod.metadata.namespace!, pod.metadata.name, (p) => {
        const ready = (p.status?.conditions ?? []).find((c: JsonObject) => c.type === 'Ready');
        if (!ready || ready.status === 'False') return false;
        ready.status = 'False';
        ready.lastTransitionTime = now;
      }, 'status');
      const seconds = this.#toleration(pod);
      if (seconds === Infinity) continue;
      const t = setTimeout(() => this.#evict(pod), seconds * 1000);
      t.unref();
      timers.push(t);
    }
    for (const t of this.#evictions.get(nodeName) ?? []) clearTimeout(t);
    this.#evictions.set(nodeName, timers);
  }

  /** nodeBack removes the unreachable taints and cancels pending evictions. */
  nodeBack(nodeName: string): void {
    for (const t of this.#evictions.get(nodeName) ?? []) clearTimeout(t);
    this.#evictions.delete(nodeName);
    const api = this.#api;
    api.mutate(api.kinds.byKind('', 'Node')!, '', nodeName, (n) => {
      const taints: JsonObject[] = n.spec.taints ?? [];
      if (!taints.some((t) => t.key === UNREACHABLE)) return false;
      n.spec.taints = taints.filter((t) => t.key !== UNREACHABLE);
      if (n.spec.taints.length === 0) delete n.spec.taints;
    });
    const node = api.store.get('/nodes', undefined, nodeName);
    if (node) this.#recorder.record(node, 'Normal', 'NodeReady', `Node ${nodeName} status is now: NodeReady`, { component: 'kubelet', host: nodeName });
  }

  /** toleration is how long a pod tolerates the unreachable NoExecute taint (seconds). */
  #toleration(pod: KubeObject): number {
    const t = ((pod.spec?.tolerations ?? []) as JsonObject[]).find(
      (x) => (x.effect === 'NoExecute' || !x.effect) && ((x.operator === 'Exists' && (!x.key || x.key === UNREACHABLE)) || x.key === UNREACHABLE),
    );
    if (!t) return 0;
    return t.tolerationSeconds === undefined ? Infinity : Math.max(0, t.tolerationSeconds);
  }

  #evict(pod: KubeObject): void {
    const api = this.#api;
    const current = api.store.get('/pods', pod.metadata.namespace, pod.metadata.name);
    if (!current || current.metadata.uid !== pod.metadata.uid || current.metadata.deletionTimestamp) return;
    this.#recorder.record(current, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${pod.metadata.namespace}/${pod.metadata.name}`, { component: 'taint-eviction-controller' });
    try {
      api.delete(api.kinds.byKind('', 'Pod')!, pod.metadata.namespace!, pod.metadata.name, { preconditions: { uid: pod.metadata.uid } });
    } catch (err) {
      if (!(err instanceof ApiError && (err.code === 404 || err.code === 409))) throw err;
    }
  }
}
