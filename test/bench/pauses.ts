// Matches the slowest requests of a --timeline run with what each member was
// doing meanwhile: the collector's pauses (gc-log.ts files) and its snapshot
// encodes (the "saved snapshot" lines of a kept run's member logs). For each
// timeline file it prints, per member, the share of the slowest requests that
// overlapped a pause (or a snapshot) beside the share of all requests that
// did: where the slow ones are far more often caught in a member's pauses
// than requests in general, those pauses are what the tail is made of.
// Usage: node test/bench/pauses.ts TIMELINE_DIR --gc GC_DIR [--logs DATA_DIR]
//          [--slowest 0.01] [--min-pause-ms 2] [--system replicant]
// A measurement tool: it must never be part of a test's pass/fail on timings.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseTimeline, snapshotWindows, type SnapshotWindow } from './timeline.ts';

/** Pause is one collector pause of one member: Unix ms start, duration ms, kind. */
export interface Pause {
  start: number;
  ms: number;
  kind: string;
}

export interface MemberShare {
  member: string;
  /** slowest requests that overlapped at least one pause of this member */
  slowPaused: number;
  /** all requests that did */
  allPaused: number;
  /** mean total pause time (ms) inside a slow request that overlapped one */
  meanPausedMs: number;
  slowInSnapshot: number;
  allInSnapshot: number;
}

export interface TailReport {
  requests: number;
  slow: number;
  /** the latency from which a request counts as slow, ms */
  threshold: number;
  members: MemberShare[];
}

/** parseGcLog reads gc-log.ts output: the member's name (from its argv line) and its pauses. */
export function parseGcLog(text: string, file = 'gc log'): { member: string; pauses: Pause[] } {
  const lines = text.split('\n');
  const argv = lines[0]?.startsWith('# ') ? lines[0] : '';
  const member = /--name[= ](\S+)/.exec(argv)?.[1] ?? path.basename(file);
  const pauses: Pause[] = [];
  lines.forEach((line, i) => {
    if (i === 0 && argv) return;
    if (line.trim() === '') return;
    const [a, b, kind] = line.trim().split(/\s+/);
    const start = Number(a);
    const ms = Number(b);
    if (!Number.isFinite(start) || !Number.isFinite(ms)) throw new Error(`${file}:${i + 1}: expected "<start Unix ms> <duration ms> <kind>", got ${JSON.stringify(line)}`);
    pauses.push({ start, ms, kind: kind ?? 'other' });
  });
  pauses.sort((x, y) => x.start - y.start);
  return { member, pauses };
}

/** pausedMs is how much of [from, to] the pauses (sorted by start) cover. */
function pausedMs(pauses: Pause[], from: number, to: number): number {
  // binary search for the first pause that may end after `from`: pauses are short, so start from one ending before it
  let lo = 0;
  let hi = pauses.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (pauses[mid].start + pauses[mid].ms < from - 1000) lo = mid + 1;
    else hi = mid;
  }
  let sum = 0;
  for (let i = lo; i < pauses.length && pauses[i].start <= to; i++) {
    const p = pauses[i];
    const overlap = Math.min(to, p.start + p.ms) - Math.max(from, p.start);
    if (overlap > 0) sum += overlap;
  }
  return sum;
}

function inSnapshot(windows: SnapshotWindow[], from: number, to: number): boolean {
  return windows.some((w) => w.start <= to && w.end >= from);
}

/**
 * tailReport: requests are [end Unix ms, latency ms]; a request spans
 * [end - latency, end]. Pauses shorter than minPauseMs are left out.
 */
export function tailReport(
  requests: [number, number][],
  members: { member: string; pauses: Pause[] }[],
  windows: SnapshotWindow[],
  slowest = 0.01,
  minPauseMs = 2,
): TailReport {
  const sorted = [...requests].sort((a, b) => b[1] - a[1]);
  const slowCount = Math.max(1, Math.floor(requests.length * slowest));
  const threshold = sorted.length > 0 ? sorted[Math.min(slowCount, sorted.length) - 1][1] : 0;
  const slowSet = sorted.slice(0, slowCount);
  const shares = members.map(({ member, pauses }) => {
    const long = pauses.filter((p) => p.ms >= minPauseMs);
    const mine = windows.filter((w) => w.member === member);
    let allPaused = 0;
    let allInSnapshot = 0;
    for (const [end, latency] of requests) {
      if (pausedMs(long, end - latency, end) > 0) allPaused++;
      if (inSnapshot(mine, end - latency, end)) allInSnapshot++;
    }
    let slowPaused = 0;
    let pausedSum = 0;
    let slowInSnapshot = 0;
    for (const [end, latency] of slowSet) {
      const ms = pausedMs(long, end - latency, end);
      if (ms > 0) {
        slowPaused++;
        pausedSum += ms;
      }
      if (inSnapshot(mine, end - latency, end)) slowInSnapshot++;
    }
    return {
      member,
      slowPaused: slowPaused / slowSet.length,
      allPaused: requests.length ? allPaused / requests.length : 0,
      meanPausedMs: slowPaused ? pausedSum / slowPaused : 0,
      slowInSnapshot: slowInSnapshot / slowSet.length,
      allInSnapshot: requests.length ? allInSnapshot / requests.length : 0,
    };
  });
  return { requests: requests.length, slow: slowSet.length, threshold, members: shares };
}

function pct(x: number): string {
  return `${(100 * x).toFixed(0)}%`;
}

function main(): void {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      gc: { type: 'string' },
      logs: { type: 'string' },
      slowest: { type: 'string', default: '0.01' },
      'min-pause-ms': { type: 'string', default: '2' },
      system: { type: 'string', default: 'replicant' },
    },
  });
  const dir = positionals[0];
  if (!dir || !values.gc) {
    process.stderr.write('usage: node test/bench/pauses.ts TIMELINE_DIR --gc GC_DIR [--logs DATA_DIR] [--slowest 0.01] [--min-pause-ms 2] [--system replicant]\n');
    process.exit(2);
  }
  const members = fs.readdirSync(values.gc).filter((f) => /^gc-\d+\.txt$/.test(f)).map((f) => parseGcLog(fs.readFileSync(path.join(values.gc!, f), 'utf8'), f));
  const windows = values.logs
    ? fs.readdirSync(values.logs).filter((f) => f.endsWith('.log')).flatMap((f) => snapshotWindows(fs.readFileSync(path.join(values.logs!, f), 'utf8')))
    : [];
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.txt') && f.includes(`-${values.system}-`)).sort()) {
    const r = tailReport(parseTimeline(fs.readFileSync(path.join(dir, f), 'utf8'), f), members, windows, Number(values.slowest), Number(values['min-pause-ms']));
    console.log(`\n${f}: ${r.requests} requests; the slowest ${r.slow} took ≥ ${r.threshold.toFixed(1)} ms`);
    console.log(`| member | slow ones in a pause ≥ ${values['min-pause-ms']} ms | all in one | pause inside a slow one (mean ms) | slow ones in a snapshot | all in one |`);
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const m of r.members.sort((a, b) => a.member.localeCompare(b.member))) {
      console.log(`| ${m.member} | ${pct(m.slowPaused)} | ${pct(m.allPaused)} | ${m.meanPausedMs.toFixed(1)} | ${pct(m.slowInSnapshot)} | ${pct(m.allInSnapshot)} |`);
    }
  }
}

if (import.meta.main) main();
