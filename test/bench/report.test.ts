// Flags and the report: defaults and one-line errors for bad flags; the
// target checks (met, not met, not measured) and the Markdown tables with the
// replicant/etcd ratio rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BenchFlagError, parseBenchFlags } from './flags.ts';
import { aggregate, batchingTable, checkTargets, failoverTable, markdownReport, resourceTable, summarizeFailover, workloadTable, type RunRecord } from './report.ts';
import { WORKLOADS } from './workloads.ts';
import type { FailoverSample } from './failover.ts';

test('flags: defaults, smoke defaults, and clear errors', () => {
  const d = parseBenchFlags([])!;
  assert.equal(d.durationS, 10);
  assert.equal(d.rounds, 2);
  assert.deepEqual(d.targets, ['etcd', 'replicant']);
  assert.equal(d.workloads.length, WORKLOADS.length);
  assert.equal(d.killReps, 5);
  assert.equal(d.termReps, 3);
  assert.equal(d.installEtcd, true);
  assert.equal(d.settleS, 5);
  assert.equal(parseBenchFlags(['--settle', '0'])!.settleS, 0);
  const s = parseBenchFlags(['--smoke', '--only', 'replicant', '--workloads', 'put,get-lin-64'])!;
  assert.equal(s.durationS, 0.2);
  assert.equal(s.settleS, 0, 'a smoke run does not settle');
  assert.equal(s.killReps, 1);
  assert.equal(s.termReps, 0);
  assert.deepEqual(s.targets, ['replicant']);
  assert.deepEqual(s.workloads.map((w) => w.name), ['put-1', 'put-16', 'put-64', 'put-256', 'get-lin-64']);
  const p = parseBenchFlags(['--profile', '/tmp/p', '--no-install-etcd'])!;
  assert.equal(p.killReps, 0, 'profiling skips failover');
  assert.equal(p.installEtcd, false);
  assert.equal(parseBenchFlags(['--help']), undefined);
  const bad: [string[], RegExp][] = [
    [['--duration', 'x'], /--duration/],
    [['--rounds', '1.5'], /--rounds: "1.5" must be an integer/],
    [['--workloads', 'put,nope'], /unknown workload "nope"/],
    [['--only', 'zookeeper'], /--only/],
    [['--spread', 'some'], /--spread/],
    [['--profile', 'x', '--only', 'etcd'], /--profile/],
    [['--election-timeout', '300'], /5×/],
    [['--frobnicate'], /frobnicate/],
  ];
  for (const [argv, re] of bad) assert.throws(() => parseBenchFlags(argv), (e: Error) => e instanceof BenchFlagError && re.test(e.message) && !e.message.includes('\n'), argv.join(' '));
});

function run(workload: string, target: 'etcd' | 'replicant', opsPerSec: number, latencies: number[], rssMiB: number, round = 1): RunRecord {
  const samples = new Float64Array(latencies);
  return {
    workload,
    target,
    round,
    leader: `${target}-1`,
    loadAverage: [1, 1, 1],
    fsyncs: new Map([[`${target}-1`, { count: opsPerSec, seconds: opsPerSec / 500 }]]),
    snapshots: new Map([[`${target}-2`, { count: 1, seconds: 0.25 }]]),
    heap: new Map([[`${target}-1`, { usedBytes: 30 * 2 ** 20, totalBytes: 50 * 2 ** 20, ...(target === 'replicant' ? { externalBytes: 12 * 2 ** 20 } : {}) }]]),
    usage: new Map([
      [`${target}-1`, { cpuSeconds: 2, cpuCores: 0.2, rssMaxBytes: rssMiB * 2 ** 20, rssEndBytes: 0, rssAnonEndBytes: 0, rssFileEndBytes: 0 }],
      [`${target}-2`, { cpuSeconds: 1, cpuCores: 0.1, rssMaxBytes: (rssMiB / 2) * 2 ** 20, rssEndBytes: 0, rssAnonEndBytes: 0, rssFileEndBytes: 0 }],
    ]),
    result: {
      workload,
      ops: opsPerSec * 10,
      completed: opsPerSec * 11,
      errors: 0,
      errorKinds: {},
      casConflicts: 0,
      elapsedMs: 10_000,
      opsPerSec,
      samples,
      clientCpuMs: 1000,
      windowStart: 0,
      windowEnd: 10_000,
    },
  };
}

const fo = (gap: number | null): FailoverSample => ({ event: 'kill', stoppedMember: 'a', newLeader: 'b', gapMs: gap, electedAfterMs: 900, lateSuccesses: 0, successes: 10, errors: 3, errorKinds: {} });

test('targets: met, not met and not measured, with ratios', () => {
  const w = (n: string) => WORKLOADS.find((x) => x.name === n)!;
  const runs = [
    run('put-64', 'etcd', 1000, [1, 2, 3, 10], 60),
    run('put-64', 'replicant', 1500, [1, 2, 3, 8], 100),
    run('put-256', 'etcd', 1000, [1, 2, 3, 10], 60),
    run('put-256', 'replicant', 1200, [1, 2, 3, 20], 100),
    run('put-1', 'etcd', 200, [4, 4, 4], 60),
    run('put-1', 'replicant', 150, [5, 5, 5], 100),
  ];
  const ws = ['put-64', 'put-256', 'put-1'].flatMap((n) => (['etcd', 'replicant'] as const).map((t) => aggregate(w(n), t, runs)));
  const failover = [summarizeFailover('etcd', 'kill', [fo(1000), fo(1200), fo(1100)]), summarizeFailover('replicant', 'kill', [fo(900), fo(null), fo(1000)])];
  const byName = Object.fromEntries(checkTargets(ws, failover).map((c) => [c.target.split(':')[0], c]));
  assert.equal(byName['put-64'].met, true);
  assert.equal(byName['put-64'].ratio, 1.5);
  assert.equal(byName['put-256'].met, false, 'throughput is higher but p99 is worse');
  assert.equal(byName['put-1'].met, false);
  assert.equal(byName['put-1'].ratio, 5 / 4);
  assert.equal(byName['get-lin-64'].met, null);
  assert.equal(byName['failover after kill -9 of the leader'].met, true, 'median of 900, 1000 and a repetition without recovery is 1000 ≤ 1100');
  assert.equal(failover[1].maxGapMs, Infinity);
  assert.equal(byName['RSS per member ≤ 2× etcd\'s (during put-64)'].ratio, 100 / 60);

  const table = workloadTable(ws);
  assert.match(table, /\| \| \*replicant\/etcd\* \| \*1\.50×\* \|/);
  assert.match(failoverTable(failover), /\| kill -9 leader \| replicant \| 3 \| 1000 \| n\/a \| 900, none, 1000 \|/);
  const md = markdownReport({
    startedAt: 'now', finishedAt: 'later', settings: {}, workloads: ws, failover, targets: checkTargets(ws, failover),
    machine: { cpuModel: 'cpu', cores: 2, memoryGiB: 4, kernel: 'k', os: 'os', disk: 'disk', node: 'v24', etcd: '3.4', loadAverage: [1, 2, 3] },
  });
  for (const heading of ['### Throughput and latency', '### Resource use during put-64', '### Failover', '### Targets']) assert.ok(md.includes(heading), heading);
});

test('aggregate merges rounds: throughput over total time, percentiles over all samples, max RSS per member', () => {
  const w = WORKLOADS.find((x) => x.name === 'put-16')!;
  const a = aggregate(w, 'etcd', [run('put-16', 'etcd', 100, [1, 1], 50, 1), run('put-16', 'etcd', 300, [9, 9], 70, 2), run('put-16', 'replicant', 999, [1], 1)]);
  assert.equal(a.rounds, 2);
  assert.equal(a.opsPerSec, 200);
  assert.deepEqual(a.opsPerSecByRound, [100, 300]);
  assert.equal(a.latency.count, 4);
  assert.equal(a.latency.max, 9);
  assert.equal(a.members[0].rssMaxMiB, 70);
  assert.equal(a.members[0].role, 'leader');
  assert.equal(a.members[0].cpuSeconds, 4);
  assert.equal(a.serverCpuMsPerOp, (6 * 1000) / 4000);
  assert.equal(a.members[0].fsyncs, 400);
  assert.equal(a.members[0].meanFsyncMs, 2);
  assert.equal(a.members[1].snapshots, 2);
  assert.match(batchingTable([a]), /\| put-16 \| etcd \| 200 \| 20 \| 10\.0 \| 2\.00 \| n\/a \| 2 \| 0\.50 \|/);
  // heap gauges: the last round's; a member without them has NaN, shown as an empty cell
  assert.equal(a.members[0].heapUsedMiB, 30);
  assert.equal(a.members[0].heapTotalMiB, 50);
  assert.ok(Number.isNaN(a.members[0].externalMiB), 'etcd has no external figure');
  assert.ok(Number.isNaN(a.members[1].heapUsedMiB));
  const r = aggregate(WORKLOADS.find((x) => x.name === 'put-64')!, 'replicant', [run('put-64', 'replicant', 100, [1], 80)]);
  assert.equal(r.members[0].externalMiB, 12);
  assert.match(resourceTable([r]), /\| replicant \| replicant-1 \| leader \| 2\.0 \| 0\.20 \| 80 \| 0 \/ 0 \| 30 \/ 50 \| 12 \|/);
  assert.match(resourceTable([r]), /\| replicant \| replicant-2 \| follower \| 1\.0 \| 0\.10 \| 40 \| 0 \/ 0 \|  \|  \|/);
});

test('flags: --replica-main must exist, --node-flags split on spaces', () => {
  assert.throws(() => parseBenchFlags(['--replica-main', '/nonexistent/main.ts']), /does not exist/);
  const o = parseBenchFlags(['--node-flags', ' --max-semi-space-size=64  --stack-size=2000 '])!;
  assert.deepEqual(o.nodeFlags, ['--max-semi-space-size=64', '--stack-size=2000']);
  assert.deepEqual(parseBenchFlags([])!.nodeFlags, []);
  assert.deepEqual(parseBenchFlags(['--loadgen-node-flags=--import=./test/bench/gc-log.ts'])!.loadgenNodeFlags, ['--import=./test/bench/gc-log.ts']);
  assert.deepEqual(parseBenchFlags([])!.loadgenNodeFlags, []);
  assert.deepEqual(parseBenchFlags(['--replica-flags=--snapshot-count 100000'])!.replicaFlags, ['--snapshot-count', '100000']);
});
