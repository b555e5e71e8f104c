// Computes a pod's status the way the kubelet reports it: phase, the
// PodReadyToStartContainers / Initialized / ContainersReady / Ready conditions,
// container statuses (state, lastState, ready, started, restartCount), IPs,
// startTime and QoS class. Pure: it must never touch processes or the store.
import type { JsonObject, KubeObject } from '../store/object.ts';
import type { ContainerExit } from './container.ts';

/** ContainerView is what the pod worker knows about one container. */
export interface ContainerView {
  name: string;
  image: string;
  init: boolean;
  restartCount: number;
  /** running: the start time of the live process. */
  running?: { startedAt: string; containerID: string };
  waiting?: { reason: string; message?: string };
  /** terminated: the final exit (no restart will follow). */
  terminated?: ContainerExit & { containerID: string };
  lastExit?: ContainerExit & { containerID: string };
  ready: boolean;
  started: boolean;
}

export interface PodView {
  setupDone: boolean;
  podIP?: string;
  hostIP: string;
  startTime?: string;
  containers: ContainerView[];
  /** failed is set when the pod can make no more progress (init container failed with restartPolicy Never). */
  failed?: { reason?: string; message?: string };
}

const OWN_CONDITIONS = new Set(['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready']);

function terminatedState(t: ContainerExit & { containerID: string }): JsonObject {
  const s: JsonObject = { exitCode: t.exitCode, reason: t.reason, startedAt: t.startedAt, finishedAt: t.finishedAt, containerID: t.containerID };
  if (t.signal) s.signal = t.signal;
  if (t.message) s.message = t.message;
  return s;
}

function containerStatus(c: ContainerView): JsonObject {
  let state: JsonObject;
  if (c.running) state = { running: { startedAt: c.running.startedAt } };
  else if (c.terminated) state = { terminated: terminatedState(c.terminated) };
  else state = { waiting: { reason: c.waiting?.reason ?? 'ContainerCreating', ...(c.waiting?.message ? { message: c.waiting.message } : {}) } };
  const previous = c.terminated ? undefined : c.lastExit;
  const status: JsonObject = {
    name: c.name,
    state,
    lastState: previous ? { terminated: terminatedState(previous) } : {},
    ready: !!c.running && c.ready,
    restartCount: c.restartCount,
    image: c.image,
    imageID: `localkube://${c.image}`,
    started: !!c.running && c.started,
  };
  const id = c.running?.containerID ?? c.terminated?.containerID;
  if (id) status.containerID = id;
  return status;
}

function condition(old: JsonObject[], type: string, ok: boolean, reason: string | undefined, message: string | undefined, now: string): JsonObject {
  const status = ok ? 'True' : 'False';
  const prev = old.find((c) => c.type === type);
  const c: JsonObject = { type, status, lastProbeTime: null, lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : now };
  if (!ok && reason) c.reason = reason;
  if (!ok && message) c.message = message;
  return c;
}

/** podPhase follows the kubelet's rules: Pending until every container started once, then Running until all are done. */
export function podPhase(pod: KubeObject, view: PodView): string {
  if (view.failed) return 'Failed';
  const inits = view.containers.filter((c) => c.init);
  const mains = view.containers.filter((c) => !c.init);
  if (!view.setupDone) return 'Pending';
  if (inits.some((c) => !(c.terminated && c.terminated.exitCode === 0))) return 'Pending';
  const neverRan = mains.filter((c) => !c.running && !c.terminated && !c.lastExit).length;
  if (neverRan > 0) return 'Pending';
  if (mains.some((c) => c.running || !c.terminated)) return 'Running';
  const policy = pod.spec?.restartPolicy ?? 'Always';
  if (policy === 'Always') return 'Running';
  return mains.every((c) => c.terminated!.exitCode === 0) ? 'Succeeded' : 'Failed';
}

function qosClass(pod: KubeObject): string {
  const containers: JsonObject[] = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  const has = (c: JsonObject) => Object.keys(c.resources?.requests ?? {}).length + Object.keys(c.resources?.limits ?? {}).length > 0;
  if (!containers.some(has)) return 'BestEffort';
  const guaranteed = containers.every((c) => {
    const l = c.resources?.limits ?? {};
    const r = { ...l, ...(c.resources?.requests ?? {}) };
    return l.cpu !== undefined && l.memory !== undefined && String(r.cpu) === String(l.cpu) && String(r.memory) === String(l.memory);
  });
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/** computePodStatus builds the status the kubelet would write now. */
export function computePodStatus(pod: KubeObject, view: PodView, now: string): JsonObject {
  const old: JsonObject[] = pod.status?.conditions ?? [];
  const phase = podPhase(pod, view);
  const inits = view.containers.filter((c) => c.init);
  const mains = view.containers.filter((c) => !c.init);
  const notInitialized = inits.filter((c) => !(c.terminated && c.terminated.exitCode === 0)).map((c) => c.name);
  const notReady = mains.filter((c) => !(c.running && c.ready)).map((c) => c.name);
  const gates: JsonObject[] = pod.spec?.readinessGates ?? [];
  const gatesOk = gates.every((g) => old.some((c) => c.type === g.conditionType && c.status === 'True'));
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const containersReady = notReady.length === 0 && !terminal;
  const unready = `containers with unready status: [${notReady.join(' ')}]`;
  const conditions: JsonObject[] = [
    condition(old, 'PodReadyToStartContainers', view.setupDone && !terminal, undefined, undefined, now),
    condition(old, 'Initialized', notInitialized.length === 0, 'ContainersNotInitialized', `containers with incomplete status: [${notInitialized.join(' ')}]`, now),
    condition(old, 'Ready', containersReady && gatesOk, terminal ? 'PodCompleted' : notReady.length > 0 ? 'ContainersNotReady' : 'ReadinessGatesNotReady', terminal ? undefined : notReady.length > 0 ? unready : 'the status of pod readiness gates is not "True"', now),
    condition(old, 'ContainersReady', containersReady, terminal ? 'PodCompleted' : 'ContainersNotReady', terminal ? undefined : unready, now),
    ...old.filter((c) => !OWN_CONDITIONS.has(c.type)),
  ];
  const status: JsonObject = {
    phase,
    conditions,
    hostIP: view.hostIP,
    hostIPs: [{ ip: view.hostIP }],
    qosClass: qosClass(pod),
  };
  if (view.podIP) {
    status.podIP = view.podIP;
    status.podIPs = [{ ip: view.podIP }];
  }
  if (view.startTime) status.startTime = view.startTime;
  if (inits.length > 0) status.initContainerStatuses = inits.map(containerStatus);
  status.containerStatuses = mains.map(containerStatus);
  if (view.failed?.reason) status.reason = view.failed.reason;
  if (view.failed?.message) status.message = view.failed.message;
  return status;
}
