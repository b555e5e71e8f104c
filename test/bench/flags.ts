// Command-line flags of `npm run bench`, turned into validated BenchOptions or
// a one-line BenchFlagError naming the flag. It must never start anything.
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { WORKLOADS, selectWorkloads, type Workload } from './workloads.ts';
import type { TargetKind } from './clusters.ts';

export class BenchFlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BenchFlagError';
  }
}

export interface BenchOptions {
  /** measured seconds per run (after warmup) */
  durationS: number;
  warmupS: number;
  /** unmeasured seconds of puts against each system once both are up, then as long idle, before the first run */
  settleS: number;
  /** runs per workload and system, alternating which system goes first */
  rounds: number;
  workloads: Workload[];
  targets: TargetKind[];
  jsonFile: string;
  smoke: boolean;
  /** repetitions of kill -9 and of SIGTERM of the leader (0: skip) */
  killReps: number;
  termReps: number;
  /** leader: every client talks to the leader; all: clients spread over all members */
  spread: 'leader' | 'all';
  connsPerEndpoint: number;
  timeoutMs: number;
  /** write replicant members' CPU profiles (node --cpu-prof) into this dir */
  profileDir?: string;
  /** install etcd-server with apt-get when etcd is missing (root only) */
  installEtcd: boolean;
  /** keep data dirs and member logs */
  keep: boolean;
  heartbeatMs: number;
  electionMs: number;
  /** replicant: the replica entry point to run (default: this checkout's replica/main.ts) */
  replicaMain?: string;
  /** replicant: extra flags for node itself, e.g. --max-semi-space-size=64 */
  nodeFlags: string[];
  /** replicant: extra replica flags, e.g. --snapshot-count 100000 */
  replicaFlags: string[];
  /** extra flags for node when starting the load generator (diagnostics, e.g. --import=./test/bench/gc-log.ts) */
  loadgenNodeFlags: string[];
  /** where to write each run's request timeline (end time, latency per request), if anywhere */
  timelineDir?: string;
}

export const BENCH_USAGE = `usage: npm run bench -- [flags]

Side-by-side benchmark: a 3-member etcd (Debian etcd-server 3.4) and a 3-member
replicant group on 127.0.0.0/8, driven by the same load generator process.

  --duration S        measured seconds per run (default 10; smoke 0.2)
  --warmup S          unmeasured seconds before each run (default 1; smoke 0.1)
  --settle S          once both systems are up: S unmeasured seconds of 16-client
                      puts against each, then S seconds idle, before the first
                      run (default 5; smoke 0), so neither system's first round
                      shares the machine with the other's start-up work
  --rounds N          runs per workload and system, alternating order (default 2; smoke 1)
  --workloads LIST    comma list of: all, put, get, mix, cas, ${WORKLOADS.map((w) => w.name).join(', ')} (default all)
  --only etcd|replicant   run against one system only
  --json FILE         where to write the JSON results (default out/bench.json)
  --smoke             a quick run of everything (about 5 s of load; 1 kill -9, no SIGTERM)
  --kill-reps N       kill -9 leader repetitions (default 5; smoke 1; 0 skips)
  --term-reps N       SIGTERM leader repetitions (default 3; smoke 0)
  --spread leader|all clients talk to the leader (default) or are spread over all members
  --conns N           HTTP/2 connections per endpoint (default 1)
  --timeout MS        per-request deadline (default 5000)
  --profile DIR       run replicant members under node --cpu-prof, profiles into DIR
                      (stops them with SIGTERM at the end; skips failover)
  --no-install-etcd   if etcd is missing, fail (default: install etcd-server with
                      apt-get when running as root, saying so)
  --keep              keep data dirs and member logs (their path is printed)
  --timeline DIR      write each run's requests (Unix ms at the end, latency ms) to
                      DIR/<workload>-<system>-round<N>.txt; node test/bench/timeline.ts
                      DIR [--logs <kept data dir>] prints the p99 per half second
                      beside the members' snapshots
  --heartbeat-interval MS / --election-timeout MS   raft timings for both (default 100 / 1000)
  --replica-main FILE run this replica entry point instead of replica/main.ts compiled
                      to JavaScript as the image runs it (scripts/build-js.ts)
                      (to measure another build, e.g. an experiment's copy)
  --node-flags="F..." extra flags for node when starting replicant members, after
                      the image's own (replica/node-flags.ts), so they win; write it
                      with "=", e.g. --node-flags=--max-semi-space-size=0 (V8's default)
  --replica-flags="F..." extra replica flags, e.g. --replica-flags="--snapshot-count 100000"
  --loadgen-node-flags="F..." extra flags for node when starting the load generator,
                      e.g. --loadgen-node-flags=--import=./test/bench/gc-log.ts
  --help              print this help
`;

function num(name: string, v: string | undefined, def: number, min: number, integer = false): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new BenchFlagError(`--${name}: ${JSON.stringify(v)} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}`);
  }
  return n;
}

/** parseBenchFlags parses argv; undefined means --help was asked for. */
export function parseBenchFlags(argv: string[]): BenchOptions | undefined {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        duration: { type: 'string' },
        warmup: { type: 'string' },
        settle: { type: 'string' },
        rounds: { type: 'string' },
        workloads: { type: 'string' },
        only: { type: 'string' },
        json: { type: 'string' },
        smoke: { type: 'boolean' },
        'kill-reps': { type: 'string' },
        'term-reps': { type: 'string' },
        spread: { type: 'string' },
        conns: { type: 'string' },
        timeout: { type: 'string' },
        profile: { type: 'string' },
        'no-install-etcd': { type: 'boolean' },
        keep: { type: 'boolean' },
        timeline: { type: 'string' },
        'heartbeat-interval': { type: 'string' },
        'election-timeout': { type: 'string' },
        'replica-main': { type: 'string' },
        'node-flags': { type: 'string' },
        'loadgen-node-flags': { type: 'string' },
        'replica-flags': { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (e) {
    throw new BenchFlagError((e as Error).message);
  }
  if (values.help) return undefined;
  const smoke = !!values.smoke;
  let workloads: Workload[];
  try {
    workloads = selectWorkloads(values.workloads ?? 'all');
  } catch (e) {
    throw new BenchFlagError(`--workloads: ${(e as Error).message}`);
  }
  let targets: TargetKind[] = ['etcd', 'replicant'];
  if (values.only !== undefined) {
    if (values.only !== 'etcd' && values.only !== 'replicant') throw new BenchFlagError(`--only: ${JSON.stringify(values.only)} must be etcd or replicant`);
    targets = [values.only];
  }
  const spread = values.spread ?? 'leader';
  if (spread !== 'leader' && spread !== 'all') throw new BenchFlagError(`--spread: ${JSON.stringify(spread)} must be leader or all`);
  const profileDir = values.profile;
  if (profileDir !== undefined && !targets.includes('replicant')) throw new BenchFlagError('--profile profiles replicant: do not combine it with --only etcd');
  if (values['replica-main'] !== undefined && !fs.existsSync(values['replica-main'])) throw new BenchFlagError(`--replica-main: ${values['replica-main']} does not exist`);
  const heartbeatMs = num('heartbeat-interval', values['heartbeat-interval'], 100, 1, true);
  const electionMs = num('election-timeout', values['election-timeout'], 1000, 1, true);
  if (electionMs < 5 * heartbeatMs) throw new BenchFlagError('--election-timeout must be at least 5× --heartbeat-interval (etcd refuses less)');
  return {
    durationS: num('duration', values.duration, smoke ? 0.2 : 10, 0.05),
    warmupS: num('warmup', values.warmup, smoke ? 0.1 : 1, 0),
    settleS: num('settle', values.settle, smoke ? 0 : 5, 0),
    rounds: num('rounds', values.rounds, smoke ? 1 : 2, 1, true),
    workloads,
    targets,
    jsonFile: values.json ?? 'out/bench.json',
    smoke,
    killReps: profileDir !== undefined ? 0 : num('kill-reps', values['kill-reps'], smoke ? 1 : 5, 0, true),
    termReps: profileDir !== undefined ? 0 : num('term-reps', values['term-reps'], smoke ? 0 : 3, 0, true),
    spread,
    connsPerEndpoint: num('conns', values.conns, 1, 1, true),
    timeoutMs: num('timeout', values.timeout, 5000, 100, true),
    profileDir,
    installEtcd: !values['no-install-etcd'],
    keep: !!values.keep,
    heartbeatMs,
    electionMs,
    replicaMain: values['replica-main'],
    nodeFlags: (values['node-flags'] ?? '').split(/\s+/).filter(Boolean),
    loadgenNodeFlags: (values['loadgen-node-flags'] ?? '').split(/\s+/).filter(Boolean),
    replicaFlags: (values['replica-flags'] ?? '').split(/\s+/).filter(Boolean),
    timelineDir: values.timeline,
  };
}
