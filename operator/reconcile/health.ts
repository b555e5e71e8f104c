// Health classification of one member from what Kubernetes and the member
// itself report (DESIGN.md, "Faulty members"). A member is Healthy only when
// its pod runs and is Ready on a live node, it answers Status, it keeps up with
// the leader and its state digest agrees with the majority. An unhealthy
// member becomes *faulty* (to be replaced) after failurePolicy.unhealthyAfter,
// or at once when it cannot come back by itself. Pure: must never act.
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { HealthReason, MemberStatus, ResolvedFailurePolicy } from '../api/index.ts';
import { formatDuration, isUnhealthyStatus } from '../api/index.ts';
import type { DivergentMember } from './divergence.ts';
import type { MemberProbe } from './observed.ts';
import { millis } from './time.ts';

export interface HealthInput {
  now: number;
  pod?: V1Pod;
  /** node is the pod's node; null when the pod names a node that does not exist. */
  node?: V1Node | null;
  probe?: MemberProbe;
  /** hasVolume: the member's data survives its pod (a PVC), so a lost pod can come back. */
  hasVolume: boolean;
  /** storage: the spec asks for volumes (so a member without one lost it, rather than using an emptyDir). */
  storage?: boolean;
  /** lag is how many entries the member trails the leader's commit index, when known. */
  lag?: number;
  divergent?: DivergentMember;
  previous?: MemberStatus;
  policy: ResolvedFailurePolicy;
}

export interface HealthVerdict {
  health: 'Healthy' | 'Unhealthy';
  reason?: HealthReason;
  message: string;
  /** since is when the member became unhealthy (ms). */
  since?: number;
  /** faulty: replace it now. */
  faulty: boolean;
  /** faultyAt is when an unhealthy member becomes faulty if nothing changes (ms). */
  faultyAt?: number;
}

const HEALTHY: HealthVerdict = { health: 'Healthy', message: '', faulty: false };

export function podReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export function podRunning(pod: V1Pod): boolean {
  return pod.status?.phase === 'Running' && !pod.metadata?.deletionTimestamp;
}

export function nodeReady(node: V1Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/**
 * lastExit says how the container last ended: its exit code and, when it exited by itself, the last
 * line of its termination message (the end of its log, with terminationMessagePolicy
 * FallbackToLogsOnError; a JSON log line gives its `msg`). A killed container's last log line is not
 * why it ended, so only the signal is named.
 */
function lastExit(pod: V1Pod): string {
  for (const cs of pod.status?.containerStatuses ?? []) {
    const t = cs.lastState?.terminated;
    if (!t) continue;
    const signal = t.signal ?? (t.exitCode > 128 ? t.exitCode - 128 : undefined);
    if (signal) return `; last killed by signal ${signal}`;
    let line = (t.message ?? '').trim().split('\n').pop() ?? '';
    if (line.startsWith('{')) {
      try {
        const msg = (JSON.parse(line) as { msg?: unknown }).msg;
        line = typeof msg === 'string' ? msg : '';
      } catch {
        line = '';
      }
    }
    if (line.length > 500) line = `${line.slice(0, 500)}...`;
    return `; last exit ${t.exitCode}${line ? `: ${line}` : ''}`;
  }
  return '';
}

function waitingReason(pod: V1Pod): { reason: string; message: string } | undefined {
  for (const cs of pod.status?.containerStatuses ?? []) {
    const w = cs.state?.waiting;
    if (w?.reason) return { reason: w.reason, message: w.message ?? '' };
  }
  return undefined;
}

/** classifyMember decides a member's health, why, since when, and whether it is faulty now. */
export function classifyMember(input: HealthInput): HealthVerdict {
  const { now, pod, policy } = input;
  const after = policy.unhealthyAfterMs;
  const previousSince = isUnhealthyStatus(input.previous) ? millis(input.previous!.unhealthySince) : undefined;
  const unhealthy = (reason: HealthReason, message: string, opts: { since?: number; immediate?: boolean } = {}): HealthVerdict => {
    const since = Math.min(opts.since ?? previousSince ?? now, now);
    const faultyAt = opts.immediate ? since : since + after;
    return { health: 'Unhealthy', reason, message, since, faulty: now >= faultyAt, faultyAt };
  };
  const gone = (what: string) =>
    input.hasVolume
      ? `${what}; its volume keeps the data, the pod is recreated`
      : input.storage
        ? `${what}; its volume is gone too, so it cannot come back and is replaced`
        : `${what}; its data was in an emptyDir, so it cannot come back and is replaced`;

  if (!pod) return unhealthy('PodMissing', gone('pod does not exist'), { immediate: !input.hasVolume });
  if (pod.metadata?.deletionTimestamp) return unhealthy('PodMissing', gone('pod is being deleted'), { immediate: !input.hasVolume });
  const phase = pod.status?.phase;
  if (phase === 'Failed' || phase === 'Succeeded') {
    const why = pod.status?.reason ? ` (${pod.status.reason})` : '';
    return unhealthy('PodFailed', gone(`pod is ${phase}${why}`), { immediate: !input.hasVolume });
  }
  if (pod.spec?.nodeName && input.node !== undefined) {
    const node = input.node;
    if (node === null) return unhealthy('NodeLost', `node ${pod.spec.nodeName} no longer exists`);
    if (!nodeReady(node)) {
      const c = node.status?.conditions?.find((x) => x.type === 'Ready');
      return unhealthy('NodeLost', `node ${pod.spec.nodeName} is not Ready (${c?.status ?? 'no Ready condition'})`, {
        since: millis(c?.lastTransitionTime),
      });
    }
  }
  if (input.divergent && input.probe && 'status' in input.probe) {
    const d = input.divergent;
    return unhealthy('Divergent', `state digest ${d.digest} at checkpoint ${d.index} differs from the majority's ${d.majorityDigest}`, {
      immediate: policy.replaceDivergent,
    });
  }
  const waiting = waitingReason(pod);
  const restarts = pod.status?.containerStatuses?.reduce((n, c) => n + (c.restartCount ?? 0), 0) ?? 0;
  if (waiting?.reason === 'CrashLoopBackOff') {
    return unhealthy('CrashLooping', `container is crash-looping (${restarts} restarts${lastExit(pod)})`);
  }
  if (!podReady(pod)) {
    // A clock started while the pod did not exist stops with it: the pod there now is a new
    // start (e.g. a founding member whose pod was created a few passes after the others).
    const carriedSince = input.previous?.reason === 'PodMissing' ? undefined : previousSince;
    const running = pod.status?.containerStatuses?.find((c) => c.state?.running);
    if (running && running.started === false) {
      // Its startup probe has not passed: the kubelet judges it (and restarts it when the probe
      // gives up, which then shows as a crash loop). A clock already running (a member that was
      // crash-looping) keeps running; a new or restarted member is not timed while it starts.
      if (input.previous?.reason === 'CrashLooping' && previousSince !== undefined) {
        return unhealthy('CrashLooping', `container is crash-looping (${restarts} restarts${lastExit(pod)}); starting again`);
      }
      const message = 'container is starting: its startup probe has not passed yet';
      if (carriedSince !== undefined) return unhealthy('Starting', message);
      return { health: 'Unhealthy', reason: 'Starting', message: `${message}; it is judged once started`, faulty: false };
    }
    const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
    const readySince = millis(ready?.status === 'True' ? undefined : ready?.lastTransitionTime) ?? millis(pod.metadata?.creationTimestamp);
    // A container that has not been Ready since it started is timed from when it was first seen
    // started but not Ready, not from the pod's creation: a new member must not be replaced for
    // the time it took to start and catch up.
    const startedAt = millis(running?.state?.running?.startedAt);
    const neverReadySinceStart = startedAt !== undefined && (readySince === undefined || readySince <= startedAt);
    const since = carriedSince ?? (neverReadySinceStart ? now : readySince);
    const detail = waiting ? ` (${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''})` : phase && phase !== 'Running' ? ` (${phase})` : '';
    return unhealthy('NotReady', `pod is not Ready${detail}; replaced after ${formatDuration(after)}`, { since });
  }
  if (!input.probe || 'error' in input.probe) {
    const why = input.probe && 'error' in input.probe ? input.probe.error : 'not probed';
    return unhealthy('Unreachable', `admin Status failed: ${why}`);
  }
  if (input.lag !== undefined && input.lag > policy.maxLagEntries) {
    return unhealthy('Lagging', `${input.lag} entries behind the leader's commit index (at most ${policy.maxLagEntries})`);
  }
  return HEALTHY;
}
