// Failover measurement: under a steady 64-client write load spread over all
// members, stop the leader (kill -9, or SIGTERM for a graceful stop) and
// measure the write-unavailability gap: from the last successful write that
// completed before the signal to the first success of a write issued after it.
// The stopped member is restarted from its data dir before the next
// repetition. It must never signal a process that is not a member of the
// cluster it was given.
import type { BenchMember, Cluster } from './clusters.ts';
import type { LoadGenerator } from './loadgen-process.ts';
import { absNow, type FailoverTimeline } from './loadgen.ts';
import { breakdown, logSize, parseMemberLog, readLogFrom, type FailoverBreakdown } from './failover-breakdown.ts';

export type FailoverEvent = 'kill' | 'term';

export interface FailoverSettings {
  concurrency: number;
  /** steady load before the signal */
  steadyMs: number;
  /** load kept up after the first write issued after the signal succeeded */
  afterMs: number;
  timeoutMs: number;
  /** restart the stopped member and wait until it caught up (needed before another repetition) */
  restart: boolean;
}

export interface FailoverSample {
  event: FailoverEvent;
  stoppedMember: string;
  newLeader: string;
  /** last success before the signal → first success of a write issued after it (ms); null if none came */
  gapMs: number | null;
  /** signal → new leader seen agreed by the remaining members (ms, polled every 50 ms) */
  electedAfterMs: number;
  /** successes of writes issued before the signal that completed after it (committed before the crash, answered late) */
  lateSuccesses: number;
  successes: number;
  errors: number;
  errorKinds: Record<string, number>;
  /** the phases of this failover from the survivors' logs and the load generator (see failover-breakdown.ts) */
  breakdown?: FailoverBreakdown;
}

/** unavailability computes the gap around time `at` from a timeline of (start, end) success pairs. */
export function unavailability(successes: Float64Array, at: number): { gapMs: number | null; lateSuccesses: number; lastBefore: number | null } {
  let lastBefore = -Infinity;
  let firstAfter = Infinity;
  let late = 0;
  for (let i = 0; i + 1 < successes.length; i += 2) {
    const start = successes[i];
    const end = successes[i + 1];
    if (end <= at) lastBefore = Math.max(lastBefore, end);
    else if (start >= at) firstAfter = Math.min(firstAfter, end);
    else late++;
  }
  const before = Number.isFinite(lastBefore) ? lastBefore : null;
  if (!Number.isFinite(lastBefore) || !Number.isFinite(firstAfter)) return { gapMs: null, lateSuccesses: late, lastBefore: before };
  return { gapMs: firstAfter - lastBefore, lateSuccesses: late, lastBefore: before };
}

/** measureFailover runs one repetition against `cluster`. */
export async function measureFailover(cluster: Cluster, lg: LoadGenerator, event: FailoverEvent, s: FailoverSettings): Promise<FailoverSample> {
  const leader = await cluster.waitStable(30_000);
  const load = lg.failover({
    endpoints: cluster.members.map((m) => m.endpoint),
    concurrency: s.concurrency,
    timeoutMs: s.timeoutMs,
    hedgeAfterMs: 100,
    maxInFlightPerClient: 32,
    errorBackoffMs: 10,
  });
  let timeline: FailoverTimeline | undefined;
  let at = 0;
  let electedAfterMs = NaN;
  let newLeader: BenchMember | undefined;
  const survivors = cluster.members.filter((m) => m !== leader);
  let logOffsets: number[] = [];
  let atWall = 0;
  try {
    await new Promise((r) => setTimeout(r, s.steadyMs));
    logOffsets = survivors.map((m) => logSize(m.logFile));
    atWall = Date.now();
    at = absNow();
    const signalled = cluster.signalAndWait(leader, event === 'kill' ? 'SIGKILL' : 'SIGTERM');
    // Followers answer Status throughout; poll them for the new leader while the old one goes.
    const recovered = load.recoveredAfter(at);
    newLeader = await waitNewLeader(cluster, leader, 30_000);
    electedAfterMs = absNow() - at;
    await signalled;
    await withDeadline(recovered, 30_000, `${cluster.kind}: no write succeeded within 30 s of stopping the leader`);
    await new Promise((r) => setTimeout(r, s.afterMs));
  } finally {
    timeline = await load.stop();
  }
  const { gapMs, lateSuccesses, lastBefore } = unavailability(timeline.successes, at);
  const parts = breakdown({
    signalWallMs: atWall,
    signalAbsMs: at,
    events: survivors.flatMap((m, i) => parseMemberLog(cluster.kind, m.name, readLogFrom(m.logFile, logOffsets[i] ?? 0))),
    lastSuccessBeforeAbs: lastBefore,
    firstSuccessAfter: timeline.firstSuccessAfterSignal,
    clients: timeline.afterSignal ?? {},
    names: new Map(cluster.members.map((m) => [m.endpoint, m.name])),
  });
  if (s.restart) {
    cluster.launch(leader);
    await cluster.waitStable(60_000);
  }
  return {
    event,
    stoppedMember: leader.name,
    newLeader: newLeader?.name ?? '',
    gapMs,
    electedAfterMs,
    lateSuccesses,
    successes: timeline.successes.length / 2,
    errors: timeline.errors,
    errorKinds: timeline.errorKinds,
    breakdown: parts,
  };
}

async function waitNewLeader(cluster: Cluster, old: BenchMember, timeoutMs: number): Promise<BenchMember> {
  const deadline = performance.now() + timeoutMs;
  const others = cluster.members.filter((m) => m !== old);
  while (performance.now() < deadline) {
    const st = await Promise.all(others.map((m) => cluster.status(m, 500).catch(() => undefined)));
    const leaders = new Set(st.map((x) => x?.leader));
    const id = st[0]?.leader;
    if (leaders.size === 1 && id && id !== old.id) {
      const m = others.find((x) => x.id === id);
      if (m) return m;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${cluster.kind}: no new leader within ${timeoutMs} ms after stopping ${old.name}`);
}

async function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
