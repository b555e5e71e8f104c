// Reads the request timelines a bench run wrote (--timeline DIR: one file per
// workload, system and round, a line per request: its end as Unix ms, its
// latency in ms) and prints, per file, the p99 of each half second, marking
// the half-seconds a member's snapshot overlapped (from the "saved snapshot"
// lines of a kept run's member logs, --logs DIR): to see whether a run's slow
// requests came with snapshots or without them (docs/benchmarks.md, item 19);
// and per file, how the time, the slowest 1 % of requests and the p99 split
// between spans when some member wrote a whole snapshot, only deltas, or
// none (item 36).
// Usage: node test/bench/timeline.ts DIR [--logs DATA_DIR] [--bucket-ms 500]
// A measurement tool: it must never be part of a test's pass/fail on timings.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

export interface Bucket {
  /** offset of the bucket's start from the file's first request, ms */
  from: number;
  requests: number;
  p99: number;
  /** members whose snapshot (capture to durable) overlapped the bucket */
  snapshots: string[];
}

export interface SnapshotWindow {
  member: string;
  /** a whole snapshot, or a delta of the one before (item 36) */
  kind: 'whole' | 'delta';
  /** Unix ms */
  start: number;
  end: number;
}

/** parseTimeline reads a timeline file's lines into [end Unix ms, latency ms] pairs; a malformed line throws naming it. */
export function parseTimeline(text: string, file = 'timeline'): [number, number][] {
  const out: [number, number][] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const [a, b] = line.trim().split(/\s+/).map(Number);
    if (!Number.isFinite(a) || !Number.isFinite(b)) throw new Error(`${file}:${i + 1}: expected "<end Unix ms> <latency ms>", got ${JSON.stringify(line)}`);
    out.push([a, b]);
  });
  return out;
}

/** snapshotWindows reads the "saved snapshot" lines of member logs (pino JSON): each snapshot from capture to durable. */
export function snapshotWindows(logText: string): SnapshotWindow[] {
  const out: SnapshotWindow[] = [];
  for (const line of logText.split('\n')) {
    if (!line.includes('"saved snapshot"')) continue;
    let j: { time?: number; totalMs?: number; member?: string; msg?: string; delta?: boolean };
    try {
      j = JSON.parse(line);
    } catch {
      continue; // a line of another kind (e.g. --trace-gc output) that mentions it
    }
    if (j.msg !== 'saved snapshot' || typeof j.time !== 'number' || typeof j.totalMs !== 'number') continue;
    out.push({ member: String(j.member ?? '?'), kind: j.delta === true ? 'delta' : 'whole', start: j.time - j.totalMs, end: j.time });
  }
  return out;
}

/** buckets groups requests by end time into buckets of `bucketMs` from the first one, each with its p99 (nearest rank) and the snapshots overlapping it. */
export function buckets(requests: [number, number][], windows: SnapshotWindow[], bucketMs: number): Bucket[] {
  if (requests.length === 0) return [];
  // (a loop, not Math.min(...): a put-256 run has over 100 000 requests, more arguments than a call takes)
  let t0 = Infinity;
  for (const [t] of requests) if (t < t0) t0 = t;
  const groups = new Map<number, number[]>();
  for (const [t, ms] of requests) {
    const k = Math.floor((t - t0) / bucketMs);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(ms);
  }
  return [...groups.keys()].sort((a, b) => a - b).map((k) => {
    const lat = groups.get(k)!.sort((a, b) => a - b);
    const from = t0 + k * bucketMs;
    const to = from + bucketMs;
    const snapshots = windows.filter((w) => w.start < to && w.end > from).map((w) => w.member);
    return { from: k * bucketMs, requests: lat.length, p99: p99Of(lat), snapshots };
  });
}

/** SnapshotSpan: what a request's end time fell in: some member writing a whole snapshot, only deltas, or none. */
export type SnapshotSpan = 'whole' | 'delta' | 'none';

export interface SpanShare {
  span: SnapshotSpan;
  /** share of the time from the first request's end to the last's */
  timeShare: number;
  /** share of the slowest 1 % of requests (those above the file's p99) */
  slowShare: number;
  /** p99 of the requests that ended in such spans (NaN if none did) */
  p99: number;
}

function p99Of(sorted: number[]): number {
  return sorted.length > 0 ? sorted[Math.ceil(0.99 * sorted.length) - 1] : NaN;
}

/** splitBySnapshot says, for whole / delta / none, how much of the time and of the slowest 1 % of requests fell there, and the p99 there. */
export function splitBySnapshot(requests: [number, number][], windows: SnapshotWindow[]): SpanShare[] {
  const spanAt = (t: number): SnapshotSpan => {
    let delta = false;
    for (const w of windows) {
      if (t < w.start || t > w.end) continue;
      if (w.kind === 'whole') return 'whole';
      delta = true;
    }
    return delta ? 'delta' : 'none';
  };
  const spans: SnapshotSpan[] = ['whole', 'delta', 'none'];
  const p99 = p99Of(requests.map(([, ms]) => ms).sort((a, b) => a - b));
  const latencies = new Map<SnapshotSpan, number[]>(spans.map((s) => [s, []]));
  const slow = new Map<SnapshotSpan, number>(spans.map((s) => [s, 0]));
  let t0 = Infinity;
  let t1 = -Infinity;
  let slowTotal = 0;
  for (const [t, ms] of requests) {
    const s = spanAt(t);
    latencies.get(s)!.push(ms);
    if (ms > p99) {
      slow.set(s, slow.get(s)! + 1);
      slowTotal++;
    }
    if (t < t0) t0 = t;
    if (t > t1) t1 = t;
  }
  // Time shares on a 1 ms grid over the requests' span.
  const time = new Map<SnapshotSpan, number>(spans.map((s) => [s, 0]));
  for (let t = t0; t < t1; t++) {
    const s = spanAt(t);
    time.set(s, time.get(s)! + 1);
  }
  const total = Math.max(1, t1 - t0);
  return spans.map((span) => ({
    span,
    timeShare: time.get(span)! / total,
    slowShare: slowTotal > 0 ? slow.get(span)! / slowTotal : 0,
    p99: p99Of(latencies.get(span)!.sort((a, b) => a - b)),
  }));
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { logs: { type: 'string' }, 'bucket-ms': { type: 'string' } } });
  const dir = positionals[0];
  if (!dir) throw new Error('usage: node test/bench/timeline.ts DIR [--logs DATA_DIR] [--bucket-ms 500]');
  const bucketMs = Number(values['bucket-ms'] ?? 500);
  if (!(bucketMs > 0)) throw new Error(`--bucket-ms must be a positive number, got ${values['bucket-ms']}`);
  const windows: SnapshotWindow[] = [];
  if (values.logs) {
    for (const f of fs.readdirSync(values.logs).filter((n) => n.endsWith('.log'))) windows.push(...snapshotWindows(fs.readFileSync(path.join(values.logs, f), 'utf8')));
  }
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.txt')).sort()) {
    const requests = parseTimeline(fs.readFileSync(path.join(dir, f), 'utf8'), f);
    const p99 = p99Of(requests.map(([, ms]) => ms).sort((a, b) => a - b));
    console.log(`${f}: ${requests.length} requests, p99 ${p99.toFixed(1)} ms; p99 per ${bucketMs} ms (* = a snapshot was being taken):`);
    console.log(
      buckets(requests, windows, bucketMs)
        .map((b) => `${b.p99.toFixed(0)}${b.snapshots.length > 0 ? `*${b.snapshots.join('+')}` : ''}`)
        .join(' '),
    );
    if (values.logs) {
      const pct = (x: number) => `${Math.round(100 * x)} %`;
      console.log(
        '  by snapshot: ' +
          splitBySnapshot(requests, windows)
            .map((s) => `${s.span}: ${pct(s.timeShare)} of the time, ${pct(s.slowShare)} of the slowest 1 %, p99 ${Number.isNaN(s.p99) ? '-' : s.p99.toFixed(1)} ms`)
            .join('; '),
      );
    }
  }
}

if (import.meta.main) {
  try {
    main();
  } catch (e) {
    console.error(`timeline: ${(e as Error).message}`);
    process.exit(2);
  }
}
