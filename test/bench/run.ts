// Runs a whole benchmark: finds (or installs) etcd, starts both 3-member
// groups, preloads the read keys, runs every workload in rounds that alternate
// which system goes first, measures failover, samples members' CPU and RSS,
// optionally collects replicant CPU profiles, and returns the report (also
// written as JSON). Every process it starts is registered with `cleanup`,
// which kills it by PID also when the run fails. It must never leave a member
// or the load generator running after cleanup, and never print the report
// itself (main.ts does).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildJs } from '../../scripts/build-js.ts';
import { EtcdCluster, REPO, ReplicantCluster, type Cluster, type TargetKind } from './clusters.ts';
import { ensureEtcd } from './etcd-binary.ts';
import { measureFailover, type FailoverEvent, type FailoverSample } from './failover.ts';
import type { BenchOptions } from './flags.ts';
import { LoadGenerator } from './loadgen-process.ts';
import { describeMachine } from './machine.ts';
import { UsageWindow, loadAverage } from './proc-stats.ts';
import { readProfile, summarizeProfile, type ProfileSummary } from './profile-summary.ts';
import { aggregate, checkTargets, summarizeFailover, toJson, type BenchReport, type FailoverSummary, type RunRecord } from './report.ts';
import { fsyncDelta, scrapeMember, type FsyncCounters, type HeapFigures, type MemberCounters } from './server-metrics.ts';
import { WORKLOADS, needsReadKeys } from './workloads.ts';

export interface Cleanup {
  after(fn: () => void | Promise<void>): void;
}

export interface RunOutput {
  report: BenchReport;
  /** replicant profile files written (profile mode) */
  profiles: string[];
  /** PIDs of every process the run started (members, restarts, load generator), for checking cleanup */
  pids: number[];
}

function orderFor(targets: TargetKind[], round: number): TargetKind[] {
  return round % 2 === 1 ? targets : [...targets].reverse();
}

/** runBench runs the benchmark described by `o`. */
export async function runBench(o: BenchOptions, cleanup: Cleanup, log: (line: string) => void): Promise<RunOutput> {
  const startedAt = new Date().toISOString();
  let etcdVersion = 'not used';
  let etcdBin: string | undefined;
  if (o.targets.includes('etcd')) {
    const etcd = ensureEtcd({ install: o.installEtcd, log });
    etcdVersion = etcd.version;
    etcdBin = etcd.path;
    log(`using etcd: ${etcd.version}, found via ${etcd.how}`);
  }
  const machine = describeMachine(etcdVersion);
  log(`machine: ${machine.cpuModel}, ${machine.cores} cores, load average ${machine.loadAverage.join(' ')}`);

  const lg = new LoadGenerator(o.loadgenNodeFlags);
  cleanup.after(() => lg.close());

  if (o.profileDir) fs.mkdirSync(o.profileDir, { recursive: true });
  if (o.timelineDir) fs.mkdirSync(o.timelineDir, { recursive: true });
  // Members run what the image runs: the sources compiled to JavaScript
  // (scripts/build-js.ts), unless --replica-main names an entry point.
  let replicaMain = o.replicaMain;
  if (replicaMain === undefined && o.targets.includes('replicant')) {
    const tree = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-bench-js-'));
    cleanup.after(() => fs.rmSync(tree, { recursive: true, force: true }));
    const built = buildJs(REPO, tree);
    fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(tree, 'node_modules'));
    replicaMain = path.join(tree, 'replica/main.js');
    log(`replicant: ${built.modules} modules compiled to JavaScript in ${tree} (as the image runs them)`);
  }
  const clusters = new Map<TargetKind, Cluster>();
  for (const t of o.targets) {
    const common = { heartbeatMs: o.heartbeatMs, electionMs: o.electionMs, keep: o.keep };
    const c =
      t === 'etcd'
        ? new EtcdCluster({ ...common, etcdBin })
        : new ReplicantCluster({
            ...common,
            replicaMain,
            replicaFlags: o.replicaFlags,
            nodeFlags: [...o.nodeFlags, ...(o.profileDir ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(o.profileDir), '--cpu-prof-name', '{name}.cpuprofile'] : [])],
          });
    cleanup.after(() => c.close());
    clusters.set(t, c);
  }
  await Promise.all(
    [...clusters.values()].map(async (c) => {
      const t0 = performance.now();
      await c.start();
      const leader = await c.leader();
      log(`${c.kind}: 3 members up in ${((performance.now() - t0) / 1000).toFixed(1)} s, leader ${leader.name}${o.keep ? `, data and logs in ${c.root}` : ''}`);
    }),
  );

  if (o.workloads.some(needsReadKeys)) {
    await Promise.all(
      [...clusters.values()].map(async (c) => {
        const leader = await c.leader();
        await lg.preload([leader.endpoint], o.timeoutMs);
      }),
    );
  }

  // Both groups warmed up and settled before anything is measured: a member
  // that has just started is still compiling and collecting (replicant's idle
  // members used ~4 % of a core each in their first seconds), and without
  // this the first system's first round shared the machine with the other
  // system's start-up work (docs/benchmarks.md item 25).
  if (o.settleS > 0) {
    const warm = WORKLOADS.find((w) => w.name === 'put-16')!;
    for (const t of o.targets) {
      const leader = await clusters.get(t)!.waitStable(30_000, { sameIndex: false });
      await lg.run({ workload: warm, endpoints: [leader.endpoint], warmupMs: 0, durationMs: o.settleS * 1000, timeoutMs: o.timeoutMs, connsPerEndpoint: o.connsPerEndpoint });
    }
    await new Promise((r) => setTimeout(r, o.settleS * 1000));
    log(`warmed up: ${o.settleS} s of put-16 against ${o.targets.join(' and ')}, then ${o.settleS} s idle`);
  }

  const runs: RunRecord[] = [];
  const leaderRuns = new Map<string, number>();
  for (const w of o.workloads) {
    for (let round = 1; round <= o.rounds; round++) {
      for (const t of orderFor(o.targets, round)) {
        const c = clusters.get(t)!;
        const leader = await c.waitStable(30_000, { sameIndex: false });
        const endpoints = o.spread === 'leader' ? [leader.endpoint] : [leader, ...c.members.filter((m) => m !== leader)].map((m) => m.endpoint);
        const usage = new UsageWindow(c.pids());
        let fsyncsBefore: Promise<MemberCounters[]> | undefined;
        let fsyncsAfter: Promise<MemberCounters[]> | undefined;
        const result = await lg.run(
          {
            workload: w,
            endpoints,
            warmupMs: o.warmupS * 1000,
            durationMs: o.durationS * 1000,
            timeoutMs: o.timeoutMs,
            connsPerEndpoint: o.connsPerEndpoint,
            timelineFile: o.timelineDir === undefined ? undefined : path.join(path.resolve(o.timelineDir), `${w.name}-${t}-round${round}.txt`),
          },
          (phase) => {
            if (phase === 'start') {
              usage.open();
              fsyncsBefore = Promise.all(c.members.map((m) => scrapeMember(t, m)));
            } else {
              fsyncsAfter = Promise.all(c.members.map((m) => scrapeMember(t, m)));
            }
          },
        );
        const used = usage.close();
        const before = (await fsyncsBefore) ?? [];
        const after = (await fsyncsAfter) ?? [];
        const fsyncs = new Map<string, FsyncCounters>();
        const snapshots = new Map<string, FsyncCounters>();
        const heap = new Map<string, HeapFigures>();
        c.members.forEach((m, i) => {
          for (const [when, scrape] of [['before', before[i]], ['after', after[i]]] as const) {
            const why = scrape ? scrape.error : 'no scrape was started';
            if (why) log(`${w.name} ${t} round ${round}: metrics of ${m.name} not read ${when} the window (${why}); its fsyncs are left out of Write batching`);
          }
          const d = fsyncDelta(before[i]?.fsync, after[i]?.fsync);
          if (d) fsyncs.set(m.name, d);
          const sn = fsyncDelta(before[i]?.fsync ? (before[i].snapshot ?? { count: 0, seconds: 0 }) : undefined, after[i]?.snapshot);
          if (sn) snapshots.set(m.name, sn);
          const h = after[i]?.heap;
          if (h) heap.set(m.name, h);
        });
        const la = loadAverage();
        runs.push({ workload: w.name, target: t, round, result, leader: leader.name, usage: used, fsyncs, snapshots, heap, loadAverage: la });
        leaderRuns.set(leader.name, (leaderRuns.get(leader.name) ?? 0) + 1);
        log(
          `${w.name.padEnd(10)} ${t.padEnd(9)} round ${round}: ${result.opsPerSec.toFixed(0).padStart(6)} ops/s, errors ${result.errors}, ` +
            `client CPU ${((result.clientCpuMs / result.elapsedMs) * 100).toFixed(0)}%, load ${la[0].toFixed(2)}`,
        );
      }
    }
  }

  const failoverSamples = new Map<string, FailoverSample[]>();
  const events: [FailoverEvent, number][] = [
    ['kill', o.killReps],
    ['term', o.termReps],
  ];
  const lastEvent = events.filter(([, n]) => n > 0).at(-1)?.[0];
  for (const [event, reps] of events) {
    for (let rep = 1; rep <= reps; rep++) {
      for (const t of orderFor(o.targets, rep)) {
        const c = clusters.get(t)!;
        const last = event === lastEvent && rep === reps;
        const s = await measureFailover(c, lg, event, {
          concurrency: 64,
          steadyMs: o.smoke ? 400 : 2000,
          afterMs: o.smoke ? 100 : 1000,
          timeoutMs: o.timeoutMs,
          restart: !last,
        });
        const key = `${t}/${event}`;
        failoverSamples.set(key, [...(failoverSamples.get(key) ?? []), s]);
        log(
          `failover ${event.padEnd(4)} ${t.padEnd(9)} rep ${rep}: gap ${s.gapMs === null ? 'none (no write succeeded after)' : `${s.gapMs.toFixed(0)} ms`}, ` +
            `new leader ${s.newLeader} agreed after ${s.electedAfterMs.toFixed(0)} ms, client errors ${s.errors}`,
        );
      }
    }
  }
  const failover: FailoverSummary[] = [];
  for (const [event] of events) {
    for (const t of o.targets) {
      const samples = failoverSamples.get(`${t}/${event}`);
      if (samples) failover.push(summarizeFailover(t, event, samples));
    }
  }

  let profile: ProfileSummary | undefined;
  const profiles: string[] = [];
  if (o.profileDir) {
    const c = clusters.get('replicant')!;
    const leaderName = [...leaderRuns].filter(([n]) => n.startsWith('replicant')).sort((a, b) => b[1] - a[1])[0]?.[0];
    await c.stopGracefully();
    for (const m of c.members) {
      const f = path.join(path.resolve(o.profileDir), `${m.name}.cpuprofile`);
      if (fs.existsSync(f)) profiles.push(f);
    }
    const leaderFile = profiles.find((f) => path.basename(f) === `${leaderName}.cpuprofile`);
    if (leaderFile) {
      const windows = runs.filter((r) => r.target === 'replicant').map((r): [number, number] => [r.result.windowStart, r.result.windowEnd]);
      profile = summarizeProfile(readProfile(leaderFile), leaderFile, 25, windows);
      log(`profile of the leader ${leaderName}: ${leaderFile}`);
    } else {
      log(`no profile found for the leader ${leaderName} in ${o.profileDir}`);
    }
  }

  const workloads = o.workloads.flatMap((w) => o.targets.map((t) => aggregate(w, t, runs)));
  const report: BenchReport = {
    startedAt,
    finishedAt: new Date().toISOString(),
    machine,
    settings: {
      durationS: o.durationS,
      warmupS: o.warmupS,
      rounds: o.rounds,
      spread: o.spread,
      connsPerEndpoint: o.connsPerEndpoint,
      timeoutMs: o.timeoutMs,
      heartbeatMs: o.heartbeatMs,
      electionMs: o.electionMs,
      replicaMain: o.replicaMain ?? 'replica/main.ts compiled by scripts/build-js.ts (as in the image)',
      nodeFlags: o.nodeFlags,
      replicaFlags: o.replicaFlags,
      killReps: o.killReps,
      termReps: o.termReps,
      smoke: o.smoke,
      profiled: !!o.profileDir,
    },
    workloads,
    failover,
    targets: checkTargets(workloads, failover),
    profile,
  };
  fs.mkdirSync(path.dirname(path.resolve(o.jsonFile)), { recursive: true });
  fs.writeFileSync(o.jsonFile, toJson(report));
  const pids = [lg.pid, ...[...clusters.values()].flatMap((c) => c.startedPids)].filter((p): p is number => p !== undefined);
  return { report, profiles, pids };
}
