// The disruption controller: keeps each PodDisruptionBudget's status
// (expectedPods, currentHealthy, desiredHealthy, disruptionsAllowed,
// disruptedPods, the DisruptionAllowed condition, observedGeneration) from the
// pods its selector matches, so the eviction API can honour it.
// It must never evict or delete pods.
import type { Api } from '../api/rest.ts';
import { fromMetaLabelSelector, matchesLabels } from '../api/selectors.ts';
import type { JsonObject } from '../store/object.ts';
import { deepEqual, nowTimestamp } from '../store/object.ts';
import { setCondition } from '../api/conditions.ts';
import { QueuedController } from './controller.ts';
import { isPodReady } from '../kinds/builtin/pods.ts';

const DISRUPTED_TTL_MS = 120_000;


function scaled(value: unknown, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  const s = String(value);
  if (s.endsWith('%')) {
    const exact = (Number(s.slice(0, -1)) * total) / 100;
    return roundUp ? Math.ceil(exact) : Math.floor(exact);
  }
  return Number(s);
}

export class DisruptionController extends QueuedController {
  readonly #api: Api;

  constructor(api: Api) {
    super('disruption controller');
    this.#api = api;
    this.follow(api.store, (e) => {
      const ns = e.object.metadata.namespace;
      if (e.resource === 'policy/poddisruptionbudgets') this.queue.add(`${ns}/${e.object.metadata.name}`);
      else if (e.resource === '/pods' && ns) for (const b of api.store.list('policy/poddisruptionbudgets', ns)) this.queue.add(`${ns}/${b.metadata.name}`);
    });
    for (const b of api.store.list('policy/poddisruptionbudgets')) this.queue.add(`${b.metadata.namespace}/${b.metadata.name}`);
  }

  protected reconcile(key: string): void {
    const [ns, name] = key.split('/');
    const api = this.#api;
    const type = api.kinds.byKind('policy', 'PodDisruptionBudget')!;
    const pdb = api.store.get('policy/poddisruptionbudgets', ns, name);
    if (!pdb || pdb.metadata.deletionTimestamp) return;
    const selector = fromMetaLabelSelector(pdb.spec?.selector ?? {});
    const pods = api.store
      .list('/pods', ns)
      .filter((p) => matchesLabels(selector, p.metadata.labels) && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
    const now = api.clock();
    const disrupted: Record<string, string> = {};
    for (const [pod, at] of Object.entries((pdb.status?.disruptedPods ?? {}) as Record<string, string>)) {
      const p = pods.find((x) => x.metadata.name === pod);
      if (p && !p.metadata.deletionTimestamp && now - Date.parse(at) < DISRUPTED_TTL_MS) disrupted[pod] = at;
    }
    const expected = pods.length;
    const healthy = pods.filter((p) => !p.metadata.deletionTimestamp && isPodReady(p) && !(p.metadata.name in disrupted)).length;
    let desired: number;
    if (pdb.spec?.maxUnavailable !== undefined) desired = Math.max(0, expected - scaled(pdb.spec.maxUnavailable, expected, true));
    else desired = scaled(pdb.spec?.minAvailable ?? 1, expected, true);
    const allowed = Math.max(0, healthy - desired);
    const status: JsonObject = {
      observedGeneration: pdb.metadata.generation,
      disruptionsAllowed: allowed,
      currentHealthy: healthy,
      desiredHealthy: desired,
      expectedPods: expected,
      conditions: structuredClone(pdb.status?.conditions ?? []),
    };
    if (Object.keys(disrupted).length > 0) status.disruptedPods = disrupted;
    setCondition(status.conditions, 'DisruptionAllowed', allowed > 0 ? 'True' : 'False', allowed > 0 ? 'SufficientPods' : 'InsufficientPods', '', nowTimestamp(api.clock));
    if (deepEqual(status, pdb.status)) return;
    api.mutate(type, ns, name, (b) => {
      b.status = status;
    }, 'status');
    if (Object.keys(disrupted).length > 0) this.queue.addAfter(key, DISRUPTED_TTL_MS);
  }
}
