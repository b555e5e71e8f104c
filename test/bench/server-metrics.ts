// Reads the members' own Prometheus counters around a run: WAL fsyncs and
// snapshot saves (count and seconds) for both systems, so the report can show
// how well each batches (operations per fsync), what an fsync costs and how
// long snapshots held the member up, which CPU figures alone do not explain. etcd serves /metrics on its client URL, replicant on its
// metrics URL. It must never fail a run: a member that does not answer simply
// has no figures.
import type { BenchMember, TargetKind } from './clusters.ts';

/** FSYNC_METRIC is each system's WAL fsync duration histogram. */
export const FSYNC_METRIC: Record<TargetKind, string> = {
  etcd: 'etcd_disk_wal_fsync_duration_seconds',
  replicant: 'replicant_wal_fsync_duration_seconds',
};

/** SNAPSHOT_METRIC is each system's snapshot-save duration histogram. */
export const SNAPSHOT_METRIC: Record<TargetKind, string> = {
  etcd: 'etcd_debugging_snap_save_total_duration_seconds',
  replicant: 'replicant_snapshot_duration_seconds',
};

/** FsyncCounters are a histogram's totals: how many observations, how many seconds in all. */
export interface FsyncCounters {
  count: number;
  seconds: number;
}

/** MemberCounters are one scrape of a member: WAL fsyncs and snapshot saves. */
export interface MemberCounters {
  fsync?: FsyncCounters;
  snapshot?: FsyncCounters;
}

/** parseHistogramTotals sums `<name>_count` and `<name>_sum` over every series in a Prometheus text exposition. */
export function parseHistogramTotals(text: string, name: string): FsyncCounters | undefined {
  let count = 0;
  let seconds = 0;
  let seen = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    if (m[1] === `${name}_count`) {
      count += Number(m[3]);
      seen = true;
    } else if (m[1] === `${name}_sum`) seconds += Number(m[3]);
  }
  return seen ? { count, seconds } : undefined;
}

/** metricsUrl is where a member of `kind` serves /metrics. */
export function metricsUrl(kind: TargetKind, m: BenchMember): string {
  return kind === 'etcd' ? `http://${m.ip}:2379/metrics` : `http://${m.ip}:2381/metrics`;
}

/** scrapeMember reads one member's fsync and snapshot totals (empty when it cannot). */
export async function scrapeMember(kind: TargetKind, m: BenchMember): Promise<MemberCounters> {
  try {
    const res = await fetch(metricsUrl(kind, m), { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return {};
    const text = await res.text();
    return { fsync: parseHistogramTotals(text, FSYNC_METRIC[kind]), snapshot: parseHistogramTotals(text, SNAPSHOT_METRIC[kind]) };
  } catch {
    return {};
  }
}

/** fsyncDelta is what happened between two scrapes. */
export function fsyncDelta(before: FsyncCounters | undefined, after: FsyncCounters | undefined): FsyncCounters | undefined {
  if (!before || !after) return undefined;
  return { count: after.count - before.count, seconds: after.seconds - before.seconds };
}
