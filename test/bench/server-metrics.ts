// Reads the members' own Prometheus counters around a run: WAL fsyncs (count
// and seconds) for both systems, so the report can show how well each batches
// (operations per fsync) and what an fsync costs, which CPU figures alone do
// not explain. etcd serves /metrics on its client URL, replicant on its
// metrics URL. It must never fail a run: a member that does not answer simply
// has no figures.
import type { BenchMember, TargetKind } from './clusters.ts';

/** FSYNC_METRIC is each system's WAL fsync duration histogram. */
export const FSYNC_METRIC: Record<TargetKind, string> = {
  etcd: 'etcd_disk_wal_fsync_duration_seconds',
  replicant: 'replicant_wal_fsync_duration_seconds',
};

export interface FsyncCounters {
  count: number;
  seconds: number;
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

/** scrapeFsyncs reads one member's fsync totals, or undefined when it cannot. */
export async function scrapeFsyncs(kind: TargetKind, m: BenchMember): Promise<FsyncCounters | undefined> {
  try {
    const res = await fetch(metricsUrl(kind, m), { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return undefined;
    return parseHistogramTotals(await res.text(), FSYNC_METRIC[kind]);
  } catch {
    return undefined;
  }
}

/** fsyncDelta is what happened between two scrapes. */
export function fsyncDelta(before: FsyncCounters | undefined, after: FsyncCounters | undefined): FsyncCounters | undefined {
  if (!before || !after) return undefined;
  return { count: after.count - before.count, seconds: after.seconds - before.seconds };
}
