// Health classification: each reason, its timing (unhealthyAfter, immediate
// when the member cannot come back), and the order in which causes are named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { resolveSpec } from '../api/index.ts';
import { classifyMember, type HealthInput } from './health.ts';
import type { AdminStatus } from './admin.ts';
import { normalizeStatus } from './admin.ts';

const T0 = Date.parse('2025-01-01T00:00:00Z');
const policy = resolveSpec({ failurePolicy: { unhealthyAfter: '30s', maxLagEntries: 100 } }).failurePolicy;
const status: AdminStatus = normalizeStatus({ memberId: 1, role: 'follower', appliedIndex: 10 });

function pod(opts: { phase?: string; ready?: boolean; readySince?: number; waiting?: string; node?: string; deleting?: boolean } = {}): V1Pod {
  return {
    metadata: { name: 'g-0', creationTimestamp: new Date(T0 - 3_600_000), ...(opts.deleting ? { deletionTimestamp: new Date(T0) } : {}) },
    spec: { containers: [], nodeName: opts.node ?? 'n1' },
    status: {
      phase: opts.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True', lastTransitionTime: new Date(opts.readySince ?? T0 - 3_600_000) }],
      containerStatuses: [
        {
          name: 'replica',
          image: 'x',
          imageID: '',
          ready: opts.ready !== false,
          restartCount: opts.waiting ? 5 : 0,
          state: opts.waiting ? { waiting: { reason: opts.waiting, message: 'back-off 40s' } } : { running: {} },
        },
      ],
    },
  };
}

const node = (ready: string, since = T0 - 60_000): V1Node => ({
  metadata: { name: 'n1' },
  status: { conditions: [{ type: 'Ready', status: ready, lastTransitionTime: new Date(since) }] },
});

const base: HealthInput = { now: T0, pod: pod(), node: node('True'), probe: { status }, hasVolume: false, lag: 0, policy };
const classify = (over: Partial<HealthInput>) => classifyMember({ ...base, ...over });

test('a running, Ready, reachable, caught-up member on a live node is Healthy', () => {
  assert.deepEqual(classify({}), { health: 'Healthy', message: '', faulty: false });
});

test('pod missing or failed: faulty at once with emptyDir, after unhealthyAfter with a volume', () => {
  let v = classify({ pod: undefined });
  assert.equal(v.reason, 'PodMissing');
  assert.equal(v.faulty, true);
  v = classify({ pod: undefined, hasVolume: true });
  assert.equal(v.faulty, false);
  assert.equal(v.faultyAt, T0 + 30_000);
  assert.equal(classify({ pod: pod({ deleting: true }) }).reason, 'PodMissing');
  v = classify({ pod: pod({ phase: 'Failed' }) });
  assert.equal(v.reason, 'PodFailed');
  assert.equal(v.faulty, true);
  assert.equal(classify({ pod: pod({ phase: 'Failed' }), hasVolume: true }).faulty, false);
});

test('node lost counts from the node condition transition', () => {
  let v = classify({ node: node('Unknown', T0 - 10_000) });
  assert.equal(v.reason, 'NodeLost');
  assert.equal(v.faulty, false);
  v = classify({ node: node('False', T0 - 31_000) });
  assert.equal(v.faulty, true);
  assert.equal(classify({ node: null }).reason, 'NodeLost', 'the node object is gone');
  assert.equal(classify({ node: undefined }).health, 'Healthy', 'nodes not observed: no judgement');
});

test('crash-looping and NotReady become faulty after unhealthyAfter (measured from when they started)', () => {
  let v = classify({ pod: pod({ waiting: 'CrashLoopBackOff', ready: false }) });
  assert.equal(v.reason, 'CrashLooping');
  assert.match(v.message, /5 restarts/);
  assert.equal(v.faulty, false);
  v = classify({
    pod: pod({ waiting: 'CrashLoopBackOff', ready: false }),
    previous: { name: 'g-0', role: 'Follower', health: 'Unhealthy', unhealthySince: new Date(T0 - 40_000).toISOString() },
  });
  assert.equal(v.faulty, true, 'the previous status says it has been unhealthy for 40s');
  v = classify({ pod: pod({ ready: false, readySince: T0 - 20_000 }) });
  assert.equal(v.reason, 'NotReady');
  assert.equal(v.since, T0 - 20_000);
  assert.equal(v.faulty, false);
  assert.equal(classify({ pod: pod({ ready: false, readySince: T0 - 31_000 }) }).faulty, true);
});

test('unreachable, lagging and divergent members', () => {
  let v = classify({ probe: { error: 'connect ECONNREFUSED' } });
  assert.equal(v.reason, 'Unreachable');
  assert.match(v.message, /ECONNREFUSED/);
  assert.equal(classify({ probe: undefined }).reason, 'Unreachable');
  v = classify({ lag: 101 });
  assert.equal(v.reason, 'Lagging');
  assert.equal(classify({ lag: 100 }).health, 'Healthy');
  const divergent = { member: 'g-0', index: 1000, digest: 'bad', majorityDigest: 'good' };
  v = classify({ divergent });
  assert.equal(v.reason, 'Divergent');
  assert.equal(v.faulty, true, 'replaceDivergent: at once');
  v = classifyMember({ ...base, divergent, policy: { ...policy, replaceDivergent: false } });
  assert.equal(v.reason, 'Divergent');
  assert.equal(v.faulty, false);
  assert.equal(v.faultyAt, T0 + 30_000);
});

test('the most basic cause is named first', () => {
  assert.equal(classify({ pod: pod({ phase: 'Failed' }), node: node('False') }).reason, 'PodFailed');
  assert.equal(classify({ node: node('False'), probe: { error: 'x' } }).reason, 'NodeLost');
  assert.equal(classify({ pod: pod({ waiting: 'CrashLoopBackOff', ready: false }), probe: { error: 'x' } }).reason, 'CrashLooping');
  assert.equal(classify({ pod: pod({ ready: false }), probe: { error: 'x' } }).reason, 'NotReady');
});

test('a container whose startup probe has not passed is Starting: not timed, unless a clock was already running', () => {
  const startingPod = (startedAt: number): V1Pod => {
    const p = pod({ ready: false, readySince: startedAt });
    p.status!.containerStatuses![0].started = false;
    p.status!.containerStatuses![0].state = { running: { startedAt: new Date(startedAt) } };
    return p;
  };
  let v = classify({ pod: startingPod(T0 - 600_000) });
  assert.equal(v.health, 'Unhealthy');
  assert.equal(v.reason, 'Starting');
  assert.equal(v.faulty, false, 'the kubelet judges a container that is still starting');
  assert.equal(v.since, undefined);
  assert.equal(v.faultyAt, undefined);
  // A member that was already unhealthy (crash-looping) keeps its clock while it starts again.
  v = classify({ pod: startingPod(T0 - 1000), previous: { name: 'g-0', role: 'Follower', health: 'Unhealthy', reason: 'NotReady', unhealthySince: new Date(T0 - 40_000).toISOString() } });
  assert.equal(v.reason, 'Starting');
  assert.equal(v.faulty, true);
  // A crash loop seen between two crashes is still a crash loop.
  v = classify({ pod: startingPod(T0 - 1000), previous: { name: 'g-0', role: 'Follower', health: 'Unhealthy', reason: 'CrashLooping', unhealthySince: new Date(T0 - 40_000).toISOString() } });
  assert.equal(v.reason, 'CrashLooping');
  assert.match(v.message, /crash-looping \(0 restarts\); starting again$/);
  assert.equal(v.faulty, true);
});

test('a container not Ready since it started is timed from when it was first seen so, not from the pod creation', () => {
  const fresh = pod({ ready: false, readySince: T0 - 600_000 });
  fresh.status!.containerStatuses![0].started = true;
  fresh.status!.containerStatuses![0].state = { running: { startedAt: new Date(T0 - 600_000) } };
  let v = classify({ pod: fresh });
  assert.equal(v.reason, 'NotReady');
  assert.equal(v.since, T0);
  assert.equal(v.faulty, false);
  v = classify({ pod: fresh, previous: { name: 'g-0', role: 'Learner', health: 'Unhealthy', reason: 'Starting' } });
  assert.equal(v.since, T0, 'Starting kept no clock');
  v = classify({ pod: fresh, previous: { name: 'g-0', role: 'Follower', health: 'Unhealthy', reason: 'NotReady', unhealthySince: new Date(T0 - 31_000).toISOString() } });
  assert.equal(v.faulty, true, 'the clock kept in status goes on');
  // Ready after it started, then not Ready: timed from that transition.
  const fell = pod({ ready: false, readySince: T0 - 31_000 });
  fell.status!.containerStatuses![0].started = true;
  fell.status!.containerStatuses![0].state = { running: { startedAt: new Date(T0 - 600_000) } };
  assert.equal(classify({ pod: fell }).faulty, true);
});

test('a crash loop says how the container last ended: its own last words, or the signal that killed it', () => {
  const looping = (terminated: object): V1Pod => {
    const p = pod({ waiting: 'CrashLoopBackOff', ready: false });
    p.status!.containerStatuses![0].lastState = { terminated: terminated as never };
    return p;
  };
  let v = classify({ pod: looping({ exitCode: 1, message: '{"level":30,"msg":"recovered"}\nreplicant replica: /data is empty, but member g-0 (1a) already ran' }) });
  assert.equal(v.message, 'container is crash-looping (5 restarts; last exit 1: replicant replica: /data is empty, but member g-0 (1a) already ran)');
  v = classify({ pod: looping({ exitCode: 1, message: '{"level":60,"msg":"stopping: the member must restart"}' }) });
  assert.match(v.message, /last exit 1: stopping: the member must restart\)$/);
  v = classify({ pod: looping({ exitCode: 137, signal: 9, message: '{"level":30,"msg":"replica serving"}' }) });
  assert.match(v.message, /\(5 restarts; last killed by signal 9\)$/);
});
