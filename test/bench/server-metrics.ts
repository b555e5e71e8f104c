// Reads the members' own Prometheus counters around a run: WAL fsyncs and
// snapshot saves (count and seconds) for both systems, and their heap gauges
// at the end (what of the resident memory is heap, used or not), so the report can show
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

/**
 * HEAP_METRICS are the gauges of each runtime's heap: V8's used and committed
 * heap and the memory outside it (Buffers) for replicant (prom-client's
 * default metrics), Go's heap in use and obtained from the OS for etcd.
 */
export const HEAP_METRICS: Record<TargetKind, { used: string; total: string; external?: string }> = {
  etcd: { used: 'go_memstats_heap_inuse_bytes', total: 'go_memstats_heap_sys_bytes' },
  replicant: { used: 'replicant_nodejs_heap_size_used_bytes', total: 'replicant_nodejs_heap_size_total_bytes', external: 'replicant_nodejs_external_memory_bytes' },
};

/** HeapFigures are a member's heap gauges at one scrape, in bytes (external: replicant only). */
export interface HeapFigures {
  usedBytes: number;
  totalBytes: number;
  externalBytes?: number;
}

/** MemberCounters are one scrape of a member: WAL fsyncs, snapshot saves and its heap. */
export interface MemberCounters {
  fsync?: FsyncCounters;
  snapshot?: FsyncCounters;
  heap?: HeapFigures;
  /** why the scrape read nothing (unreachable, timed out, an HTTP error, or no fsync histogram in the text) */
  error?: string;
}

/** parseGauge sums the series of gauge `name` in a Prometheus text exposition (undefined if absent). */
export function parseGauge(text: string, name: string): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m && m[1] === name) total = (total ?? 0) + Number(m[3]);
  }
  return total;
}

/** parseHeap reads a member's heap gauges (undefined when the used or total gauge is missing). */
export function parseHeap(text: string, kind: TargetKind): HeapFigures | undefined {
  const names = HEAP_METRICS[kind];
  const usedBytes = parseGauge(text, names.used);
  const totalBytes = parseGauge(text, names.total);
  if (usedBytes === undefined || totalBytes === undefined) return undefined;
  const externalBytes = names.external ? parseGauge(text, names.external) : undefined;
  return externalBytes === undefined ? { usedBytes, totalBytes } : { usedBytes, totalBytes, externalBytes };
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

/** scrapeMember reads one member's fsync and snapshot totals (with `error` saying why when it cannot). */
export async function scrapeMember(kind: TargetKind, m: BenchMember): Promise<MemberCounters> {
  try {
    const res = await fetch(metricsUrl(kind, m), { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return { error: `HTTP ${res.status}` };
    const text = await res.text();
    const fsync = parseHistogramTotals(text, FSYNC_METRIC[kind]);
    return { fsync, snapshot: parseHistogramTotals(text, SNAPSHOT_METRIC[kind]), heap: parseHeap(text, kind), error: fsync ? undefined : `no ${FSYNC_METRIC[kind]} in the text` };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/** fsyncDelta is what happened between two scrapes. */
export function fsyncDelta(before: FsyncCounters | undefined, after: FsyncCounters | undefined): FsyncCounters | undefined {
  if (!before || !after) return undefined;
  return { count: after.count - before.count, seconds: after.seconds - before.seconds };
}
