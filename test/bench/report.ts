// The benchmark's results as data (the JSON file) and as Markdown (printed,
// and pasted into docs/benchmarks.md): per-workload throughput and latency for
// both systems with the ratio replicant/etcd, failover gaps, per-member CPU
// and RSS, and the issue's targets checked as met / not met. It must never
// measure anything itself.
import type { FailoverEvent, FailoverSample } from './failover.ts';
import { median, summarize, type LatencySummary } from './latency.ts';
import type { LoadResult } from './loadgen.ts';
import type { MachineInfo } from './machine.ts';
import type { ProcessUsage } from './proc-stats.ts';
import type { ProfileSummary } from './profile-summary.ts';
import { RESOURCE_WORKLOAD, type Workload } from './workloads.ts';
import type { TargetKind } from './clusters.ts';
import type { FsyncCounters, HeapFigures } from './server-metrics.ts';

/** RunRecord is one measured run of one workload against one system. */
export interface RunRecord {
  workload: string;
  target: TargetKind;
  round: number;
  result: LoadResult;
  leader: string;
  usage: Map<string, ProcessUsage>;
  /** WAL fsyncs per member during the window (from the members' own metrics) */
  fsyncs: Map<string, FsyncCounters>;
  /** snapshot saves per member during the window (a histogram that appears only after the first save counts from 0) */
  snapshots: Map<string, FsyncCounters>;
  /** each member's heap gauges at the end of the window (absent when a member did not answer) */
  heap?: Map<string, HeapFigures>;
  loadAverage: [number, number, number];
}

export interface MemberUsage {
  member: string;
  role: 'leader' | 'follower';
  cpuSeconds: number;
  cpuCores: number;
  rssMaxMiB: number;
  /** anonymous (heap) and file-backed parts of RSS at the end of the last round */
  rssAnonMiB: number;
  rssFileMiB: number;
  /** heap used and committed (V8 for replicant, Go for etcd) and replicant's memory outside the V8 heap, at the end of the last round; NaN if unknown */
  heapUsedMiB: number;
  heapTotalMiB: number;
  externalMiB: number;
  /** WAL fsyncs during the measured windows, and their mean duration */
  fsyncs: number;
  meanFsyncMs: number;
  /** snapshots saved during the measured windows and the seconds they took */
  snapshots: number;
  snapshotSeconds: number;
}

export interface WorkloadResult {
  workload: string;
  title: string;
  target: TargetKind;
  rounds: number;
  ops: number;
  /** successes at any time, warmup included */
  completed: number;
  opsPerSec: number;
  opsPerSecByRound: number[];
  latency: LatencySummary;
  errors: number;
  errorKinds: Record<string, number>;
  casConflicts: number;
  /** load generator CPU as a share of one core */
  clientCpuCores: number;
  /** all members' CPU seconds per 1000 operations */
  serverCpuMsPerOp: number;
  members: MemberUsage[];
  loadAverage1m: number[];
  /** measured windows [start, end] in ms of the system monotonic clock (to cut CPU profiles) */
  windows: [number, number][];
}

export interface FailoverSummary {
  target: TargetKind;
  event: FailoverEvent;
  repetitions: number;
  gapsMs: (number | null)[];
  medianGapMs: number;
  maxGapMs: number;
  medianElectedAfterMs: number;
  /** medians of the phases over the repetitions that logged them (ms after the signal; see failover-breakdown.ts) */
  phases: FailoverPhases;
  samples: FailoverSample[];
}

export interface TargetCheck {
  target: string;
  /** null: not measured in this run */
  met: boolean | null;
  ratio: number;
  detail: string;
}

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  machine: MachineInfo;
  settings: Record<string, unknown>;
  workloads: WorkloadResult[];
  failover: FailoverSummary[];
  targets: TargetCheck[];
  profile?: ProfileSummary;
}

const MiB = 2 ** 20;

/** aggregate merges the rounds of one workload against one system. */
export function aggregate(workload: Workload, target: TargetKind, runs: RunRecord[]): WorkloadResult {
  const mine = runs.filter((r) => r.workload === workload.name && r.target === target);
  const ops = mine.reduce((n, r) => n + r.result.ops, 0);
  const ms = mine.reduce((n, r) => n + r.result.elapsedMs, 0);
  const errorKinds: Record<string, number> = {};
  for (const r of mine) for (const [k, v] of Object.entries(r.result.errorKinds)) errorKinds[k] = (errorKinds[k] ?? 0) + v;
  const byMember = new Map<
    string,
    { cpu: number; cores: number[]; rss: number; anon: number; file: number; heap?: HeapFigures; leader: number; fsyncs: number; fsyncSeconds: number; snaps: number; snapSeconds: number }
  >();
  let serverCpu = 0;
  for (const r of mine) {
    for (const [name, u] of r.usage) {
      const e = byMember.get(name) ?? { cpu: 0, cores: [], rss: 0, anon: 0, file: 0, leader: 0, fsyncs: 0, fsyncSeconds: 0, snaps: 0, snapSeconds: 0 };
      const sn = r.snapshots.get(name);
      if (sn) {
        e.snaps += sn.count;
        e.snapSeconds += sn.seconds;
      }
      e.anon = u.rssAnonEndBytes;
      e.heap = r.heap?.get(name);
      e.file = u.rssFileEndBytes;
      const f = r.fsyncs.get(name);
      if (f) {
        e.fsyncs += f.count;
        e.fsyncSeconds += f.seconds;
      }
      e.cpu += u.cpuSeconds;
      e.cores.push(u.cpuCores);
      e.rss = Math.max(e.rss, u.rssMaxBytes);
      if (r.leader === name) e.leader++;
      byMember.set(name, e);
      serverCpu += u.cpuSeconds;
    }
  }
  return {
    workload: workload.name,
    title: workload.title,
    target,
    rounds: mine.length,
    ops,
    completed: mine.reduce((n, r) => n + r.result.completed, 0),
    opsPerSec: ms > 0 ? (ops / ms) * 1000 : 0,
    opsPerSecByRound: mine.map((r) => r.result.opsPerSec),
    latency: summarize(...mine.map((r) => r.result.samples)),
    errors: mine.reduce((n, r) => n + r.result.errors, 0),
    errorKinds,
    casConflicts: mine.reduce((n, r) => n + r.result.casConflicts, 0),
    clientCpuCores: ms > 0 ? mine.reduce((n, r) => n + r.result.clientCpuMs, 0) / ms : 0,
    serverCpuMsPerOp: ops > 0 ? (serverCpu * 1000) / ops : NaN,
    members: [...byMember]
      .sort((a, b) => a[0].localeCompare(b[0]))
      .map(([member, e]) => ({
        member,
        role: e.leader * 2 >= mine.length && e.leader > 0 ? 'leader' : 'follower',
        cpuSeconds: e.cpu,
        cpuCores: e.cores.reduce((a, b) => a + b, 0) / e.cores.length,
        rssMaxMiB: e.rss / MiB,
        rssAnonMiB: e.anon / MiB,
        rssFileMiB: e.file / MiB,
        heapUsedMiB: e.heap ? e.heap.usedBytes / MiB : NaN,
        heapTotalMiB: e.heap ? e.heap.totalBytes / MiB : NaN,
        externalMiB: e.heap?.externalBytes !== undefined ? e.heap.externalBytes / MiB : NaN,
        fsyncs: e.fsyncs,
        meanFsyncMs: e.fsyncs > 0 ? (e.fsyncSeconds * 1000) / e.fsyncs : NaN,
        snapshots: e.snaps,
        snapshotSeconds: e.snapSeconds,
      })),
    loadAverage1m: mine.map((r) => r.loadAverage[0]),
    windows: mine.map((r) => [r.result.windowStart, r.result.windowEnd]),
  };
}

/** FailoverPhases: medians over repetitions, ms after the signal (NaN when no repetition logged the phase). */
export interface FailoverPhases {
  firstCampaignMs: number;
  leaderElectedMs: number;
  firstCommitMs: number;
  firstWriteMs: number;
  /** leader elected → first successful write, per repetition, then the median */
  electedToWriteMs: number;
  /** campaign rounds until a leader, per repetition */
  campaignRounds: number[];
}

function phaseMedian(samples: FailoverSample[], pick: (b: NonNullable<FailoverSample['breakdown']>) => number | null): number {
  const v = samples.map((s) => (s.breakdown ? pick(s.breakdown) : null)).filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length ? median(v) : NaN;
}

/** summarizeFailover turns repetitions into median and max gaps. */
export function summarizeFailover(target: TargetKind, event: FailoverEvent, samples: FailoverSample[]): FailoverSummary {
  const gaps = samples.map((s) => s.gapMs);
  // A repetition without any success afterwards counts as an infinite gap.
  const all = gaps.map((g) => g ?? Infinity);
  return {
    target,
    event,
    repetitions: samples.length,
    gapsMs: gaps,
    medianGapMs: median(all),
    maxGapMs: all.length ? Math.max(...all) : NaN,
    medianElectedAfterMs: median(samples.map((s) => s.electedAfterMs)),
    phases: {
      firstCampaignMs: phaseMedian(samples, (b) => b.firstCampaignMs),
      leaderElectedMs: phaseMedian(samples, (b) => b.leaderElectedMs),
      firstCommitMs: phaseMedian(samples, (b) => b.firstCommitMs),
      firstWriteMs: phaseMedian(samples, (b) => b.firstWriteMs),
      electedToWriteMs: phaseMedian(samples, (b) => (b.firstWriteMs !== null && b.leaderElectedMs !== null ? b.firstWriteMs - b.leaderElectedMs : null)),
      campaignRounds: samples.map((s) => s.breakdown?.campaignRounds ?? 0),
    },
    samples,
  };
}

function find(ws: WorkloadResult[], workload: string, target: TargetKind): WorkloadResult | undefined {
  return ws.find((w) => w.workload === workload && w.target === target);
}

const x = (r: number) => (Number.isFinite(r) ? `${r.toFixed(2)}×` : 'n/a');

/** checkTargets evaluates the issue's targets on one run's results. */
export function checkTargets(ws: WorkloadResult[], fo: FailoverSummary[]): TargetCheck[] {
  const out: TargetCheck[] = [];
  const absent = (target: string, why: string): TargetCheck => ({ target, met: null, ratio: NaN, detail: `not measured (${why})` });
  for (const name of ['put-64', 'put-256']) {
    const e = find(ws, name, 'etcd');
    const r = find(ws, name, 'replicant');
    const target = `${name}: throughput ≥ 1.0× etcd with p99 ≤ etcd's`;
    if (!e || !r) {
      out.push(absent(target, `run ${name} against both`));
      continue;
    }
    const ratio = r.opsPerSec / e.opsPerSec;
    const p99 = r.latency.p99 / e.latency.p99;
    out.push({
      target,
      met: ratio >= 1 && p99 <= 1,
      ratio,
      detail: `throughput ${x(ratio)} (${r.opsPerSec.toFixed(0)} vs ${e.opsPerSec.toFixed(0)} ops/s); p99 ${x(p99)} (${r.latency.p99.toFixed(1)} vs ${e.latency.p99.toFixed(1)} ms)`,
    });
  }
  {
    const e = find(ws, 'put-1', 'etcd');
    const r = find(ws, 'put-1', 'replicant');
    const target = "put-1: p50 ≤ etcd's";
    if (!e || !r) out.push(absent(target, 'run put-1 against both'));
    else {
      const ratio = r.latency.p50 / e.latency.p50;
      out.push({ target, met: ratio <= 1, ratio, detail: `p50 ${x(ratio)} (${r.latency.p50.toFixed(2)} vs ${e.latency.p50.toFixed(2)} ms)` });
    }
  }
  {
    const e = find(ws, 'get-lin-64', 'etcd');
    const r = find(ws, 'get-lin-64', 'replicant');
    const target = 'get-lin-64: throughput ≥ 1.0× etcd';
    if (!e || !r) out.push(absent(target, 'run get-lin-64 against both'));
    else {
      const ratio = r.opsPerSec / e.opsPerSec;
      out.push({ target, met: ratio >= 1, ratio, detail: `${x(ratio)} (${r.opsPerSec.toFixed(0)} vs ${e.opsPerSec.toFixed(0)} ops/s)` });
    }
  }
  {
    const e = fo.find((f) => f.target === 'etcd' && f.event === 'kill');
    const r = fo.find((f) => f.target === 'replicant' && f.event === 'kill');
    const target = "failover after kill -9 of the leader: median gap ≤ etcd's (default raft timings)";
    if (!e || !r) out.push(absent(target, 'run the failover measurement against both'));
    else {
      const ratio = r.medianGapMs / e.medianGapMs;
      out.push({ target, met: ratio <= 1, ratio, detail: `${x(ratio)} (median ${r.medianGapMs.toFixed(0)} vs ${e.medianGapMs.toFixed(0)} ms over ${r.repetitions} and ${e.repetitions} repetitions)` });
    }
  }
  {
    const e = find(ws, RESOURCE_WORKLOAD, 'etcd');
    const r = find(ws, RESOURCE_WORKLOAD, 'replicant');
    const target = `RSS per member ≤ 2× etcd's (during ${RESOURCE_WORKLOAD})`;
    if (!e || !r || e.members.length === 0 || r.members.length === 0) out.push(absent(target, `run ${RESOURCE_WORKLOAD} against both`));
    else {
      const em = Math.max(...e.members.map((m) => m.rssMaxMiB));
      const rm = Math.max(...r.members.map((m) => m.rssMaxMiB));
      const ratio = rm / em;
      out.push({ target, met: ratio <= 2, ratio, detail: `largest member ${x(ratio)} (${rm.toFixed(0)} vs ${em.toFixed(0)} MiB)` });
    }
  }
  return out;
}

// ---- Markdown ----------------------------------------------------------------

const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : 'n/a');
const f2 = (n: number) => (Number.isFinite(n) ? (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2)) : 'n/a');
const pct = (n: number) => `${(n * 100).toFixed(0)}%`;

/** workloadTable renders throughput and latency with a ratio row (replicant/etcd) per workload. */
export function workloadTable(ws: WorkloadResult[]): string {
  const rows = [
    '| workload | system | ops/s | p50 ms | p99 ms | max ms | errors | client CPU | server CPU ms/op |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const names = [...new Set(ws.map((w) => w.workload))];
  for (const name of names) {
    const e = find(ws, name, 'etcd');
    const r = find(ws, name, 'replicant');
    const title = (e ?? r)!.title;
    let first = true;
    for (const w of [e, r]) {
      if (!w) continue;
      const spread = w.opsPerSecByRound.length > 1 ? ` (${w.opsPerSecByRound.map(f0).join(', ')})` : '';
      const errs = w.errors + (w.casConflicts ? ` (+${w.casConflicts} cas conflicts)` : '');
      rows.push(
        `| ${first ? `**${name}** ${title}` : ''} | ${w.target} | ${f0(w.opsPerSec)}${spread} | ${f2(w.latency.p50)} | ${f2(w.latency.p99)} | ${f2(w.latency.max)} | ${errs} | ${pct(w.clientCpuCores)} | ${f2(w.serverCpuMsPerOp)} |`,
      );
      first = false;
    }
    if (e && r) {
      rows.push(
        `| | *replicant/etcd* | *${x(r.opsPerSec / e.opsPerSec)}* | *${x(r.latency.p50 / e.latency.p50)}* | *${x(r.latency.p99 / e.latency.p99)}* | *${x(r.latency.max / e.latency.max)}* | | | *${x(r.serverCpuMsPerOp / e.serverCpuMsPerOp)}* |`,
      );
    }
  }
  return rows.join('\n');
}

/** failoverTable renders gaps per system and event. */
export function failoverTable(fo: FailoverSummary[]): string {
  const rows = [
    '| event | system | repetitions | median gap ms | max gap ms | gaps ms | new leader agreed after (median ms) | errors seen by clients |',
    '|---|---|---:|---:|---:|---|---:|---:|',
  ];
  for (const f of fo) {
    const ev = f.event === 'kill' ? 'kill -9 leader' : 'SIGTERM leader';
    const errors = f.samples.reduce((n, s) => n + s.errors, 0);
    rows.push(
      `| ${ev} | ${f.target} | ${f.repetitions} | ${f0(f.medianGapMs)} | ${f0(f.maxGapMs)} | ${f.gapsMs.map((g) => (g === null ? 'none' : f0(g))).join(', ')} | ${f0(f.medianElectedAfterMs)} | ${errors} |`,
    );
  }
  return rows.join('\n');
}

/**
 * failoverPhasesTable renders where the time of a failover went (medians over
 * repetitions, ms after the signal), from the survivors' logs and the clients.
 */
export function failoverPhasesTable(fo: FailoverSummary[]): string {
  const rows = [
    '| event | system | first campaign on a survivor | leader elected | first commit of its term | first write succeeded | elected → first write | campaign rounds per repetition |',
    '|---|---|---:|---:|---:|---:|---:|---|',
  ];
  for (const f of fo) {
    const ev = f.event === 'kill' ? 'kill -9 leader' : 'SIGTERM leader';
    const p = f.phases;
    const na = (v: number) => (Number.isFinite(v) ? f0(v) : 'not logged');
    rows.push(
      `| ${ev} | ${f.target} | ${na(p.firstCampaignMs)} | ${na(p.leaderElectedMs)} | ${na(p.firstCommitMs)} | ${na(p.firstWriteMs)} | ${na(p.electedToWriteMs)} | ${p.campaignRounds.join(', ')} |`,
    );
  }
  return rows.join('\n');
}

/** resourceTable renders per-member CPU and RSS during the resource workload. */
export function resourceTable(ws: WorkloadResult[]): string {
  const rows = [
    '| system | member | role | CPU s | CPU (cores) | RSS max MiB | at end: anon / file-backed MiB | at end: heap used / committed MiB | at end: outside the heap (Buffers) MiB |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  const mib = (v: number) => (Number.isNaN(v) ? '' : v.toFixed(0));
  for (const t of ['etcd', 'replicant'] as const) {
    const w = find(ws, RESOURCE_WORKLOAD, t);
    if (!w) continue;
    for (const m of w.members) {
      rows.push(`| ${t} | ${m.member} | ${m.role} | ${m.cpuSeconds.toFixed(1)} | ${m.cpuCores.toFixed(2)} | ${m.rssMaxMiB.toFixed(0)} | ${m.rssAnonMiB.toFixed(0)} / ${m.rssFileMiB.toFixed(0)} | ${Number.isNaN(m.heapUsedMiB) ? '' : `${mib(m.heapUsedMiB)} / ${mib(m.heapTotalMiB)}`} | ${mib(m.externalMiB)} |`);
    }
    rows.push(`| ${t} | load generator | client | | ${w.clientCpuCores.toFixed(2)} | | | | |`);
  }
  return rows.join('\n');
}

/** batchingTable shows, per write workload, how many operations each leader WAL fsync carried and what an fsync cost. */
export function batchingTable(ws: WorkloadResult[]): string {
  const rows = [
    '| workload | system | ops/s | leader fsyncs/s | ops per leader fsync | mean fsync ms (leader) | mean fsync ms (followers) | snapshots saved (all members) | seconds spent saving them |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const w of ws) {
    const leader = w.members.find((m) => m.role === 'leader');
    if (!leader || !(leader.fsyncs > 0)) continue;
    const seconds = w.rounds > 0 && w.opsPerSec > 0 ? w.ops / w.opsPerSec : NaN;
    const followers = w.members.filter((m) => m !== leader && m.fsyncs > 0);
    const fMean = followers.length ? followers.reduce((n, m) => n + m.meanFsyncMs * m.fsyncs, 0) / followers.reduce((n, m) => n + m.fsyncs, 0) : NaN;
    rows.push(
      `| ${w.workload} | ${w.target} | ${f0(w.opsPerSec)} | ${f0(leader.fsyncs / seconds)} | ${f2(w.ops / leader.fsyncs)} | ${f2(leader.meanFsyncMs)} | ${f2(fMean)} | ` +
        `${w.members.reduce((n, m) => n + m.snapshots, 0)} | ${w.members.reduce((n, m) => n + m.snapshotSeconds, 0).toFixed(2)} |`,
    );
  }
  return rows.join('\n');
}

/** targetsTable renders the target checks. */
export function targetsTable(ts: TargetCheck[]): string {
  const rows = ['| target | result | ratio replicant/etcd | detail |', '|---|---|---:|---|'];
  for (const t of ts) rows.push(`| ${t.target} | ${t.met === null ? 'not measured' : t.met ? '**met**' : '**not met**'} | ${x(t.ratio)} | ${t.detail} |`);
  return rows.join('\n');
}

/** machineLines renders the machine description as a bullet list. */
export function machineLines(m: MachineInfo): string {
  return [
    `- CPU: ${m.cpuModel}, ${m.cores} cores available`,
    `- memory: ${m.memoryGiB} GiB; OS: ${m.os}; kernel ${m.kernel}`,
    `- data dirs on: ${m.disk}`,
    `- Node ${m.node} (replicant and the load generator); etcd: ${m.etcd}`,
    `- load average at start (1/5/15 min): ${m.loadAverage.map((l) => l.toFixed(2)).join(' / ')}`,
  ].join('\n');
}

/** markdownReport renders the whole report. */
export function markdownReport(r: BenchReport): string {
  const parts = [`## Benchmark run ${r.startedAt}`, '', machineLines(r.machine), '', `Settings: ${JSON.stringify(r.settings)}`, ''];
  if (r.workloads.length) parts.push('### Throughput and latency', '', workloadTable(r.workloads), '');
  if (r.workloads.some((w) => w.workload === RESOURCE_WORKLOAD)) parts.push(`### Resource use during ${RESOURCE_WORKLOAD}`, '', resourceTable(r.workloads), '');
  if (r.workloads.some((w) => w.members.some((m) => m.fsyncs > 0))) parts.push('### Write batching and snapshots (from the members\' own metrics)', '', batchingTable(r.workloads), '');
  if (r.failover.length) {
    parts.push('### Failover (64 writing clients spread over all members)', '', failoverTable(r.failover), '');
    parts.push('Where the time went (medians, ms after the signal; from the survivors\' logs and the load generator; etcd does not log its first commit):', '', failoverPhasesTable(r.failover), '');
  }
  if (r.targets.length) parts.push('### Targets', '', targetsTable(r.targets), '');
  const errs = r.workloads.filter((w) => Object.keys(w.errorKinds).length > 0);
  if (errs.length) {
    parts.push('### Errors', '');
    for (const w of errs) for (const [k, v] of Object.entries(w.errorKinds)) parts.push(`- ${w.workload} ${w.target}: ${v} × ${k}`);
    parts.push('');
  }
  return parts.join('\n');
}

/** toJson makes the report JSON-safe (Infinity becomes null). */
export function toJson(r: BenchReport): string {
  return JSON.stringify(r, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : typeof v === 'bigint' ? v.toString() : v), 2);
}
