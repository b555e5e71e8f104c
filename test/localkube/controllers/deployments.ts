// The Deployment controller: one ReplicaSet per pod template (named
// <deployment>-<pod-template-hash>, the hash also labelling its pods), rolled
// out by the strategy — RollingUpdate within maxSurge/maxUnavailable, or
// Recreate (old pods gone before new ones start) — old ReplicaSets kept up to
// revisionHistoryLimit, and the status kubectl rollout status and kstatus
// (helm 4's --wait) read: observedGeneration, replicas, updatedReplicas,
// readyReplicas, availableReplicas, unavailableReplicas and the Available and
// Progressing conditions. After the real controller's rules, simplified: no
// proportional scaling of several old ReplicaSets, no pause, no progress deadline.
// It must never create or delete pods itself: ReplicaSets do.
import type { Api } from '../api/rest.ts';
import { setCondition } from '../api/conditions.ts';
import type { KubeObject, JsonObject } from '../store/object.ts';
import { deepEqual, mutable, nowTimestamp } from '../store/object.ts';
import type { EventRecorder } from './events.ts';
import { QueuedController } from './controller.ts';
import { controllerOf } from './replicasets.ts';

const DEPLOYMENTS = 'apps/deployments';
const RS = 'apps/replicasets';
/** HASH_LABEL tells a ReplicaSet's pods apart from other templates' pods. */
export const HASH_LABEL = 'pod-template-hash';
export const REVISION = 'deployment.kubernetes.io/revision';
const SAFE_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

/** canonicalJson renders a value with sorted keys, so equal templates hash equally. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as JsonObject)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as JsonObject)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** templateKey is a template without the hash label, for comparing templates. */
function templateKey(template: JsonObject | undefined): string {
  const t = mutable(template ?? {});
  if (t.metadata?.labels) delete t.metadata.labels[HASH_LABEL];
  return canonicalJson(t);
}

/** podTemplateHash is FNV-32a of the template (and collision count), in the API's safe alphabet. */
export function podTemplateHash(template: JsonObject | undefined, collisionCount = 0): string {
  let h = 0x811c9dc5;
  const text = templateKey(template) + (collisionCount ? String(collisionCount) : '');
  for (const byte of Buffer.from(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return [...String(h)].map((c) => SAFE_CHARS[c.charCodeAt(0) % SAFE_CHARS.length]).join('');
}

/** resolveIntOrPercent turns maxSurge/maxUnavailable into a count of `total`. */
export function resolveIntOrPercent(v: unknown, total: number, roundUp: boolean): number {
  if (typeof v === 'number') return v;
  const s = String(v ?? '0');
  if (s.endsWith('%')) {
    const exact = (Number(s.slice(0, -1)) * total) / 100;
    return roundUp ? Math.ceil(exact) : Math.floor(exact);
  }
  return Number(s) || 0;
}

const storedReplicas = (rs: KubeObject): number => rs.spec?.replicas ?? 0;
const revisionOf = (o: KubeObject): number => Number(o.metadata.annotations?.[REVISION] ?? 0) || 0;

export class DeploymentController extends QueuedController {
  readonly #api: Api;
  readonly #recorder: EventRecorder;

  constructor(api: Api, recorder: EventRecorder) {
    super('deployment controller');
    this.#api = api;
    this.#recorder = recorder;
    this.follow(api.store, (e) => {
      const ns = e.object.metadata.namespace;
      if (e.resource === DEPLOYMENTS) this.queue.add(`${ns}/${e.object.metadata.name}`);
      else if (e.resource === RS) this.#enqueueOwner(e.object);
      else if (e.resource === '/pods' && e.type === 'DELETED') {
        // Recreate waits for old pods to be gone.
        const rs = api.store.byUid(controllerOf(e.object, 'ReplicaSet') ?? '');
        if (rs) this.#enqueueOwner(rs.object);
      }
    });
    for (const d of api.store.list(DEPLOYMENTS)) this.queue.add(`${d.metadata.namespace}/${d.metadata.name}`);
  }

  #enqueueOwner(rs: KubeObject): void {
    const owner = controllerOf(rs, 'Deployment');
    const d = owner ? this.#api.store.byUid(owner) : undefined;
    if (d) this.queue.add(`${rs.metadata.namespace}/${d.object.metadata.name}`);
  }

  protected reconcile(key: string): void {
    const [ns, name] = key.split('/');
    const api = this.#api;
    const d = api.store.get(DEPLOYMENTS, ns, name);
    if (!d || d.metadata.deletionTimestamp) return;
    const rsType = api.kinds.byKind('apps', 'ReplicaSet')!;
    const owned = api.store.list(RS, ns).filter((rs) => controllerOf(rs, 'Deployment') === d.metadata.uid && !rs.metadata.deletionTimestamp);
    const wantKey = templateKey(d.spec?.template);
    let current = owned.find((rs) => templateKey(rs.spec?.template) === wantKey);
    const olds = owned.filter((rs) => rs !== current).sort((a, b) => revisionOf(a) - revisionOf(b));
    // Stored objects are frozen: replica counts set during this pass are tracked here.
    const scaled = new Map<string, number>();
    const specReplicas = (rs: KubeObject): number => scaled.get(rs.metadata.uid!) ?? storedReplicas(rs);
    const replicas: number = d.spec?.replicas ?? 1;
    const maxRevision = Math.max(0, ...owned.map(revisionOf));
    const recreate = d.spec?.strategy?.type === 'Recreate';
    const activeOlds = () => olds.filter((rs) => specReplicas(rs) > 0 || (rs.status?.replicas ?? 0) > 0);
    // Recreate waits for every pod of an old ReplicaSet to be gone or finished, terminating ones too.
    const oldPodsRunning = () => {
      const uids = new Set(olds.map((rs) => rs.metadata.uid));
      return api.store.list('/pods', ns).some((p) => uids.has(controllerOf(p, 'ReplicaSet')) && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
    };

    if (!current) {
      // Recreate starts the new pods only once every old pod is gone.
      const start = recreate && activeOlds().length === 0 && !oldPodsRunning() ? replicas : 0;
      current = api.create(rsType, ns, this.#replicaSetFor(d, start, maxRevision + 1));
      if (start > 0) this.#recorder.record(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${current.metadata.name} from 0 to ${start}`, { component: 'deployment-controller' });
    } else if (revisionOf(current) < maxRevision) {
      // Rolling back to an old template makes it the newest revision again.
      const rev = maxRevision + 1;
      current = api.mutate(rsType, ns, current.metadata.name, (rs) => {
        rs.metadata.annotations = { ...(rs.metadata.annotations ?? {}), [REVISION]: String(rev) };
      })!;
    }
    const newRS = current;

    const scale = (rs: KubeObject, to: number): void => {
      if (specReplicas(rs) === to) return;
      const from = specReplicas(rs);
      api.mutate(rsType, ns, rs.metadata.name, (o) => {
        o.spec.replicas = to;
      });
      scaled.set(rs.metadata.uid!, to);
      this.#recorder.record(d, 'Normal', 'ScalingReplicaSet', `Scaled ${to > from ? 'up' : 'down'} replica set ${rs.metadata.name} from ${from} to ${to}`, { component: 'deployment-controller' });
    };

    if (recreate) {
      for (const rs of olds) scale(rs, 0);
      if (!oldPodsRunning()) scale(newRS, replicas);
    } else {
      const maxSurge = resolveIntOrPercent(d.spec?.strategy?.rollingUpdate?.maxSurge ?? '25%', replicas, true);
      let maxUnavailable = resolveIntOrPercent(d.spec?.strategy?.rollingUpdate?.maxUnavailable ?? '25%', replicas, false);
      if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
      maxUnavailable = Math.min(maxUnavailable, replicas);
      if (activeOlds().length === 0) {
        // Not rolling out: the new ReplicaSet simply follows spec.replicas.
        scale(newRS, replicas);
      } else {
        // Scale up the new ReplicaSet within the surge (counting desired, not observed, pods).
        const total = () => olds.reduce((n, rs) => n + specReplicas(rs), 0) + specReplicas(newRS);
        const room = replicas + maxSurge - total();
        if (room > 0 && specReplicas(newRS) < replicas) scale(newRS, Math.min(replicas, specReplicas(newRS) + room));
        // Scale down old ReplicaSets while replicas - maxUnavailable stay available. A
        // ReplicaSet counts at most its desired size as available: its status may
        // still show pods it is about to delete.
        const availableOf = (rs: KubeObject) => Math.min(rs.status?.availableReplicas ?? 0, specReplicas(rs));
        const minAvailable = replicas - maxUnavailable;
        const newUnavailable = Math.max(0, specReplicas(newRS) - availableOf(newRS));
        let maxScaledDown = total() - minAvailable - newUnavailable;
        // First the old pods that are not available: they count for nothing.
        for (const rs of olds) {
          if (maxScaledDown <= 0) break;
          const unavailable = specReplicas(rs) - availableOf(rs);
          const down = Math.min(unavailable, maxScaledDown);
          if (down > 0) {
            scale(rs, specReplicas(rs) - down);
            maxScaledDown -= down;
          }
        }
        // Then available ones, oldest ReplicaSet first.
        let removable = Math.min(maxScaledDown, [newRS, ...olds].reduce((n, rs) => n + availableOf(rs), 0) - minAvailable);
        for (const rs of olds) {
          if (removable <= 0) break;
          const down = Math.min(specReplicas(rs), removable);
          if (down > 0) {
            scale(rs, specReplicas(rs) - down);
            removable -= down;
          }
        }
      }
    }
    this.#cleanup(d, olds, specReplicas);
    this.#writeStatus(d, newRS, olds);
  }

  /** cleanup deletes the oldest scaled-down ReplicaSets beyond revisionHistoryLimit. */
  #cleanup(d: KubeObject, olds: KubeObject[], specReplicas: (rs: KubeObject) => number): void {
    const api = this.#api;
    const rsType = api.kinds.byKind('apps', 'ReplicaSet')!;
    const limit: number = d.spec?.revisionHistoryLimit ?? 10;
    const idle = olds.filter((rs) => specReplicas(rs) === 0 && (rs.status?.replicas ?? 0) === 0);
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) {
      api.delete(rsType, rs.metadata.namespace!, rs.metadata.name, { preconditions: { uid: rs.metadata.uid } });
    }
  }

  #writeStatus(d: KubeObject, newRS: KubeObject, olds: KubeObject[]): void {
    const api = this.#api;
    const type = api.kinds.byKind('apps', 'Deployment')!;
    // Read the ReplicaSets again: their status may have moved while scaling.
    const fresh = (rs: KubeObject) => api.store.get(RS, rs.metadata.namespace, rs.metadata.name) ?? rs;
    const all = [newRS, ...olds].map(fresh);
    const sum = (f: (rs: KubeObject) => number) => all.reduce((n, rs) => n + f(rs), 0);
    const replicas: number = d.spec?.replicas ?? 1;
    const current = fresh(newRS);
    const statusReplicas = sum((rs) => rs.status?.replicas ?? 0);
    const updated = current.status?.replicas ?? 0;
    const ready = sum((rs) => rs.status?.readyReplicas ?? 0);
    const available = sum((rs) => rs.status?.availableReplicas ?? 0);
    const maxUnavailable =
      d.spec?.strategy?.type === 'Recreate' ? 0 : Math.min(replicas, resolveIntOrPercent(d.spec?.strategy?.rollingUpdate?.maxUnavailable ?? '25%', replicas, false));
    const now = nowTimestamp(api.clock);
    const conditions: JsonObject[] = mutable(d.status?.conditions ?? []);
    const keepTimes = (type: string, status: string, reason: string, message: string) => {
      const old = conditions.find((c) => c.type === type);
      const same = old && old.status === status && old.reason === reason && old.message === message;
      setCondition(conditions, type, status, reason, message, now, { lastUpdateTime: same ? old.lastUpdateTime : now });
    };
    if (available >= replicas - maxUnavailable) keepTimes('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.');
    else keepTimes('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.');
    const complete = updated === replicas && statusReplicas === replicas && (current.status?.availableReplicas ?? 0) === replicas && (current.status?.observedGeneration ?? 0) >= (current.metadata.generation ?? 0);
    if (complete) keepTimes('Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${current.metadata.name}" has successfully progressed.`);
    else keepTimes('Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${current.metadata.name}" is progressing.`);
    const status: JsonObject = {
      observedGeneration: d.metadata.generation,
      replicas: statusReplicas,
      updatedReplicas: updated,
      readyReplicas: ready,
      availableReplicas: available,
      conditions,
    };
    const unavailable = Math.max(0, sum(storedReplicas) - available);
    if (unavailable > 0) status.unavailableReplicas = unavailable;
    const revision = current.metadata.annotations?.[REVISION];
    if (!deepEqual(status, d.status)) {
      api.mutate(type, d.metadata.namespace!, d.metadata.name, (o) => {
        o.status = status;
      }, 'status');
    }
    if (revision && d.metadata.annotations?.[REVISION] !== revision) {
      api.mutate(type, d.metadata.namespace!, d.metadata.name, (o) => {
        o.metadata.annotations = { ...(o.metadata.annotations ?? {}), [REVISION]: revision };
      });
    }
  }

  #replicaSetFor(d: KubeObject, replicas: number, revision: number): KubeObject {
    const hash = podTemplateHash(d.spec?.template);
    const template = mutable(d.spec?.template ?? {});
    template.metadata = { ...(template.metadata ?? {}), labels: { ...(template.metadata?.labels ?? {}), [HASH_LABEL]: hash } };
    const selector = mutable(d.spec?.selector ?? {});
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [HASH_LABEL]: hash };
    return {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: d.metadata.namespace,
        labels: { ...(d.spec?.template?.metadata?.labels ?? {}), [HASH_LABEL]: hash },
        annotations: { [REVISION]: String(revision), 'deployment.kubernetes.io/desired-replicas': String(d.spec?.replicas ?? 1) },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: d.metadata.name, uid: d.metadata.uid!, controller: true, blockOwnerDeletion: true }],
      },
      spec: {
        replicas,
        minReadySeconds: d.spec?.minReadySeconds ?? 0,
        selector,
        template,
      },
    };
  }
}
