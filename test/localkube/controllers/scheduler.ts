// The scheduler: binds each unscheduled pod (schedulerName default-scheduler)
// to a node that is Ready and schedulable, whose taints it tolerates, that
// matches its nodeSelector and required node affinity, that keeps its required
// pod (anti-)affinity and DoNotSchedule topology spread constraints; among those
// it prefers the least crowded topology domain, then the node with fewest pods.
// A pod that fits nowhere gets PodScheduled=False/Unschedulable and a
// FailedScheduling event, and is retried.
// It must never bind a pod that already has a node.
import type { Api } from '../api/rest.ts';
import { ApiError } from '../api/errors.ts';
import { bindPod } from '../api/pod-subresources.ts';
import { fromMetaLabelSelector, matchesLabels } from '../api/selectors.ts';
import type { LabelSelector, MetaLabelSelector } from '../api/selectors.ts';
import type { JsonObject, KubeObject } from '../store/object.ts';
import { nowTimestamp } from '../store/object.ts';
import type { EventRecorder } from './events.ts';
import { QueuedController } from './controller.ts';
import { setCondition } from '../api/conditions.ts';

function nodeReady(node: KubeObject): boolean {
  return (node.status?.conditions ?? []).some((c: JsonObject) => c.type === 'Ready' && c.status === 'True');
}

/** tolerates tells whether a pod's tolerations cover a taint. */
export function tolerates(pod: KubeObject, taint: JsonObject): boolean {
  return ((pod.spec?.tolerations ?? []) as JsonObject[]).some((t) => {
    if (t.effect && t.effect !== taint.effect) return false;
    if (t.operator === 'Exists') return !t.key || t.key === taint.key;
    return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
  });
}

function matchExpression(labels: Record<string, string>, e: JsonObject): boolean {
  const has = Object.hasOwn(labels, e.key);
  const v = labels[e.key];
  switch (e.operator) {
    case 'In':
      return has && (e.values ?? []).includes(v);
    case 'NotIn':
      return !has || !(e.values ?? []).includes(v);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
      return has && Number(v) > Number(e.values?.[0]);
    case 'Lt':
      return has && Number(v) < Number(e.values?.[0]);
    default:
      return false;
  }
}

function nodeSelectorTermMatches(node: KubeObject, term: JsonObject): boolean {
  const labels = node.metadata.labels ?? {};
  const fields = { 'metadata.name': node.metadata.name };
  return ((term.matchExpressions ?? []) as JsonObject[]).every((e) => matchExpression(labels, e)) && ((term.matchFields ?? []) as JsonObject[]).every((e) => matchExpression(fields, e));
}

interface Placed {
  pod: KubeObject;
  node: KubeObject;
}

function termSelector(pod: KubeObject, term: JsonObject): LabelSelector {
  const sel = fromMetaLabelSelector(term.labelSelector as MetaLabelSelector);
  for (const key of (term.matchLabelKeys ?? []) as string[]) {
    const v = pod.metadata.labels?.[key];
    if (v !== undefined) sel.push({ op: 'in', key, values: [v] });
  }
  return sel;
}

function termNamespaces(pod: KubeObject, term: JsonObject): string[] | undefined {
  if (term.namespaceSelector && Object.keys(term.namespaceSelector).length === 0) return undefined; // all
  return term.namespaces?.length ? term.namespaces : [pod.metadata.namespace ?? ''];
}

function matchingPods(pod: KubeObject, term: JsonObject, placed: Placed[]): Placed[] {
  const sel = termSelector(pod, term);
  const nss = termNamespaces(pod, term);
  return placed.filter((p) => (!nss || nss.includes(p.pod.metadata.namespace ?? '')) && matchesLabels(sel, p.pod.metadata.labels));
}

export class Scheduler extends QueuedController {
  readonly #api: Api;
  readonly #recorder: EventRecorder;
  readonly #lastFailure = new Map<string, string>();

  constructor(api: Api, recorder: EventRecorder) {
    super('scheduler');
    this.#api = api;
    this.#recorder = recorder;
    this.follow(api.store, (e) => {
      if (e.resource === '/pods') {
        if (e.type !== 'DELETED' && !e.object.spec?.nodeName) this.queue.add(`${e.object.metadata.namespace}/${e.object.metadata.name}`);
        if (e.type === 'DELETED') this.#retryAll();
      } else if (e.resource === '/nodes') this.#retryAll();
    });
    this.#retryAll();
  }

  #retryAll(): void {
    for (const p of this.#api.store.list('/pods')) if (!p.spec?.nodeName) this.queue.add(`${p.metadata.namespace}/${p.metadata.name}`);
  }

  protected reconcile(key: string): void {
    const api = this.#api;
    const slash = key.indexOf('/');
    const ns = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const pod = api.store.get('/pods', ns, name);
    if (!pod || pod.spec?.nodeName || pod.metadata.deletionTimestamp || (pod.spec?.schedulerName ?? 'default-scheduler') !== 'default-scheduler') {
      this.#lastFailure.delete(key);
      return;
    }
    const nodes = api.store.list('/nodes');
    const placed: Placed[] = [];
    const byName = new Map(nodes.map((n) => [n.metadata.name, n]));
    for (const p of api.store.list('/pods')) {
      const node = byName.get(p.spec?.nodeName);
      if (node && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed' && p.metadata.uid !== pod.metadata.uid) placed.push({ pod: p, node });
    }
    const reasons = new Map<string, number>();
    const why = (r: string) => reasons.set(r, (reasons.get(r) ?? 0) + 1);
    const feasible = nodes.filter((n) => {
      const r = this.#misfit(pod, n, nodes, placed);
      if (r) why(r);
      return !r;
    });
    if (feasible.length === 0) {
      const detail = [...reasons.entries()].map(([r, c]) => `${c} ${r}`).sort().join(', ');
      const message = `0/${nodes.length} nodes are available${detail ? `: ${detail}` : ''}. preemption: 0/${nodes.length} nodes are available: ${nodes.length} Preemption is not helpful for scheduling.`;
      this.#unschedulable(pod, message);
      this.queue.addAfter(key, 1000);
      return;
    }
    const scored = feasible.map((n) => ({ node: n, score: this.#score(pod, n, feasible, placed) }));
    scored.sort((a, b) => a.score - b.score || (a.node.metadata.name < b.node.metadata.name ? -1 : 1));
    const target = scored[0].node.metadata.name;
    try {
      const bound = bindPod(api, api.kinds.byKind('', 'Pod')!, ns, name, { target: { kind: 'Node', name: target } });
      this.#lastFailure.delete(key);
      this.#recorder.record(bound, 'Normal', 'Scheduled', `Successfully assigned ${ns}/${name} to ${target}`, { component: 'default-scheduler' });
    } catch (err) {
      if (!(err instanceof ApiError && (err.code === 404 || err.code === 409))) throw err;
    }
  }

  #unschedulable(pod: KubeObject, message: string): void {
    const key = `${pod.metadata.namespace}/${pod.metadata.name}`;
    if (this.#lastFailure.get(key) === message) return;
    this.#lastFailure.set(key, message);
    this.#recorder.record(pod, 'Warning', 'FailedScheduling', message, { component: 'default-scheduler' });
    const now = nowTimestamp(this.#api.clock);
    this.#api.mutate(this.#api.kinds.byKind('', 'Pod')!, pod.metadata.namespace!, pod.metadata.name, (p) => {
      p.status ??= {};
      setCondition((p.status.conditions ??= []), 'PodScheduled', 'False', 'Unschedulable', message, now, { lastProbeTime: null });
    }, 'status');
  }

  /** misfit returns why a node cannot take the pod, or undefined when it can. */
  #misfit(pod: KubeObject, node: KubeObject, nodes: KubeObject[], placed: Placed[]): string | undefined {
    const spec = pod.spec ?? {};
    for (const taint of (node.spec?.taints ?? []) as JsonObject[]) {
      if ((taint.effect === 'NoSchedule' || taint.effect === 'NoExecute') && !tolerates(pod, taint)) {
        return `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`;
      }
    }
    if (!nodeReady(node)) return 'node(s) were not ready';
    if (node.spec?.unschedulable && !tolerates(pod, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' })) return 'node(s) were unschedulable';
    const labels = node.metadata.labels ?? {};
    for (const [k, v] of Object.entries((spec.nodeSelector ?? {}) as Record<string, string>)) {
      if (labels[k] !== v) return "node(s) didn't match Pod's node affinity/selector";
    }
    const required = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
    if (required && !((required.nodeSelectorTerms ?? []) as JsonObject[]).some((t) => nodeSelectorTermMatches(node, t))) {
      return "node(s) didn't match Pod's node affinity/selector";
    }
    const domainOf = (n: KubeObject, key: string) => n.metadata.labels?.[key];
    for (const term of (spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []) as JsonObject[]) {
      const domain = domainOf(node, term.topologyKey);
      if (domain === undefined) continue;
      if (matchingPods(pod, term, placed).some((p) => domainOf(p.node, term.topologyKey) === domain)) return "node(s) didn't match pod anti-affinity rules";
    }
    for (const term of (spec.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []) as JsonObject[]) {
      const domain = domainOf(node, term.topologyKey);
      const matches = matchingPods(pod, term, placed);
      const selfMatch = matches.length === 0 && matchesLabels(termSelector(pod, term), pod.metadata.labels);
      if (domain === undefined || (!selfMatch && !matches.some((p) => domainOf(p.node, term.topologyKey) === domain))) {
        return "node(s) didn't match pod affinity rules";
      }
    }
    for (const c of (spec.topologySpreadConstraints ?? []) as JsonObject[]) {
      if (c.whenUnsatisfiable !== 'DoNotSchedule') continue;
      const skew = this.#skewAfter(pod, node, c, nodes, placed);
      if (skew !== undefined && skew > (c.maxSkew ?? 1)) return "node(s) didn't match pod topology spread constraints";
    }
    return undefined;
  }

  /** skewAfter is the constraint's skew if the pod went to node (undefined when the node lacks the topology label). */
  #skewAfter(pod: KubeObject, node: KubeObject, c: JsonObject, nodes: KubeObject[], placed: Placed[]): number | undefined {
    const key = c.topologyKey;
    const domain = node.metadata.labels?.[key];
    if (domain === undefined) return undefined;
    const counts = new Map<string, number>();
    for (const n of nodes) {
      const d = n.metadata.labels?.[key];
      if (d !== undefined && nodeReady(n) && !n.spec?.unschedulable) counts.set(d, 0);
    }
    for (const p of matchingPods(pod, { labelSelector: c.labelSelector, matchLabelKeys: c.matchLabelKeys }, placed)) {
      const d = p.node.metadata.labels?.[key];
      if (d !== undefined && counts.has(d)) counts.set(d, counts.get(d)! + 1);
    }
    counts.set(domain, (counts.get(domain) ?? 0) + 1);
    const min = Math.min(...counts.values());
    return counts.get(domain)! - min;
  }

  /** score is lower for better nodes: emptier spread domains and anti-affinity domains first, then fewer pods. */
  #score(pod: KubeObject, node: KubeObject, nodes: KubeObject[], placed: Placed[]): number {
    const spec = pod.spec ?? {};
    let score = 0;
    for (const c of (spec.topologySpreadConstraints ?? []) as JsonObject[]) score += 100 * (this.#skewAfter(pod, node, c, nodes, placed) ?? 0);
    for (const w of (spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []) as JsonObject[]) {
      const term = w.podAffinityTerm ?? {};
      const domain = node.metadata.labels?.[term.topologyKey];
      const hits = matchingPods(pod, term, placed).filter((p) => p.node.metadata.labels?.[term.topologyKey] === domain).length;
      score += (w.weight ?? 1) * hits * 10;
    }
    // Without explicit rules, spread pods that share labels (the default spreading), then balance.
    const sameLabels = placed.filter((p) => p.node.metadata.name === node.metadata.name && p.pod.metadata.namespace === pod.metadata.namespace && Object.keys(pod.metadata.labels ?? {}).length > 0 && matchesLabels(fromMetaLabelSelector({ matchLabels: pod.metadata.labels }), p.pod.metadata.labels)).length;
    score += sameLabels * 10;
    score += placed.filter((p) => p.node.metadata.name === node.metadata.name).length;
    return score;
  }
}
