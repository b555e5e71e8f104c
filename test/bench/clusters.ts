// The two systems under test as 3-member groups of real processes on
// 127.0.0.0/8: etcd (the Debian 3.4 binary) and replicant (replica/main.ts on
// Node 24). Each member has its own loopback address with etcd's default
// ports, its own data dir under os.tmpdir() and a log file; fsync is on for
// both (neither is told to skip it). Every process is tracked by PID and killed
// by close(), which the harness's cleanup calls also on failure. Leader and
// progress are read through the etcd Maintenance.Status call, the same for
// both. It must never bind or dial outside 127.0.0.0/8.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LeanChannel } from './lean-grpc.ts';
import { RPC, STATUS_REQUEST, decodeStatusResponse, type MemberStatus } from './etcd-wire.ts';
import { REPLICA_NODE_ENV, REPLICA_NODE_FLAGS } from '../../replica/node-flags.ts';

export type TargetKind = 'etcd' | 'replicant';

/** MemberCommand starts one member: the program, its arguments and environment variables beside the bench's own. */
export interface MemberCommand {
  file: string;
  args: string[];
  env?: Readonly<Record<string, string>>;
}

/** REPO is this checkout's root. */
export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const REPLICA_MAIN = path.join(REPO, 'replica/main.ts');

export interface BenchMember {
  name: string;
  ip: string;
  /** host:port of the client API */
  endpoint: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  logFile: string;
  proc?: ChildProcess;
  /** raft member id, learned from its first Status answer */
  id?: bigint;
}

export interface ClusterOptions {
  /** raft tick and election timeout (both systems' defaults: 100 and 1000 ms) */
  heartbeatMs: number;
  electionMs: number;
  /** etcd only: the binary */
  etcdBin?: string;
  /** replicant only: extra flags for node itself (e.g. --cpu-prof) */
  nodeFlags?: string[];
  /** replicant only: the entry point (default replica/main.ts of this checkout) */
  replicaMain?: string;
  /** replicant only: extra replica flags (they come last, so they override the harness's) */
  replicaFlags?: string[];
  /** keep data dirs and logs after close (for inspection) */
  keep?: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** portsFree tells whether ports 2379-2381 can be bound on every address. */
async function portsFree(ips: string[]): Promise<boolean> {
  for (const ip of ips) {
    for (const port of [2379, 2380, 2381]) {
      const ok = await new Promise<boolean>((resolve) => {
        const srv = net.createServer();
        srv.once('error', () => resolve(false));
        srv.listen(port, ip, () => srv.close(() => resolve(true)));
      });
      if (!ok) return false;
    }
  }
  return true;
}

/** pickAddresses finds `n` loopback addresses 127.A.B.1..n whose etcd ports are free. */
async function pickAddresses(n: number): Promise<string[]> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const a = 230 + Math.floor(Math.random() * 20);
    const b = 1 + Math.floor(Math.random() * 250);
    const ips = Array.from({ length: n }, (_, i) => `127.${a}.${b}.${i + 1}`);
    if (await portsFree(ips)) return ips;
  }
  throw new Error('could not find free loopback addresses for the benchmark group');
}

/** Cluster is a 3-member group of one kind; subclasses say how a member is launched. */
export abstract class Cluster {
  abstract readonly kind: TargetKind;
  readonly members: BenchMember[] = [];
  readonly root: string;
  readonly options: ClusterOptions;
  private readonly channels = new Map<string, LeanChannel>();
  private closed = false;
  /** every PID this cluster started, restarts included */
  readonly startedPids: number[] = [];

  constructor(options: ClusterOptions) {
    this.options = options;
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-bench-'));
  }

  /** command returns the program and arguments that start (or restart) member m. */
  protected abstract command(m: BenchMember): MemberCommand;

  /** start defines the members, launches them and waits until they agree on a leader. */
  async start(size = 3): Promise<void> {
    const ips = await pickAddresses(size);
    for (let i = 0; i < size; i++) {
      const ip = ips[i];
      const name = `${this.kind}-${i + 1}`;
      this.members.push({
        name,
        ip,
        endpoint: `${ip}:2379`,
        clientUrl: `http://${ip}:2379`,
        peerUrl: `http://${ip}:2380`,
        dataDir: path.join(this.root, name),
        logFile: path.join(this.root, `${name}.log`),
      });
    }
    for (const m of this.members) this.launch(m);
    await this.waitStable(60_000);
  }

  initialCluster(): string {
    return this.members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  }

  /** launch starts member m's process (a restart reuses its data dir). */
  launch(m: BenchMember): void {
    if (this.closed) throw new Error(`${this.kind}: cluster closed`);
    const { file, args, env } = this.command(m);
    const log = fs.openSync(m.logFile, 'a');
    try {
      // A variable the caller set (even empty) wins over the member's own.
      m.proc = spawn(file, args, { stdio: ['ignore', log, log], env: env && { ...env, ...process.env } });
    } finally {
      fs.closeSync(log);
    }
    m.proc.on('error', () => undefined);
    if (m.proc.pid !== undefined) this.startedPids.push(m.proc.pid);
  }

  running(): BenchMember[] {
    return this.members.filter((m) => isAlive(m.proc));
  }

  /** pids maps member name to PID for running members. */
  pids(): Map<string, number> {
    return new Map(this.running().map((m) => [m.name, m.proc!.pid!]));
  }

  private channel(m: BenchMember): LeanChannel {
    let c = this.channels.get(m.endpoint);
    if (!c) {
      c = new LeanChannel(m.endpoint);
      this.channels.set(m.endpoint, c);
    }
    return c;
  }

  /** status asks member m for Maintenance.Status. */
  async status(m: BenchMember, timeoutMs = 2000): Promise<MemberStatus> {
    const s = decodeStatusResponse(await this.channel(m).unary(RPC.status, STATUS_REQUEST, timeoutMs));
    m.id = s.memberId;
    return s;
  }

  /**
   * waitStable waits until every running member answers, all name the same
   * leader, and (unless sameIndex is false, for use under load) all report
   * the same commit index (a restarted member has caught up). Returns the leader.
   */
  async waitStable(timeoutMs = 30_000, opts: { sameIndex?: boolean } = {}): Promise<BenchMember> {
    const sameIndex = opts.sameIndex ?? true;
    const deadline = performance.now() + timeoutMs;
    let last = 'no answer yet';
    while (performance.now() < deadline) {
      for (const m of this.members) {
        const p = m.proc;
        if (p && p.exitCode !== null && p.exitCode !== 0) {
          throw new Error(`${m.name} exited with status ${p.exitCode}; log ${m.logFile}:\n${this.logTail(m)}`);
        }
      }
      const live = this.running();
      try {
        const st = await Promise.all(live.map((m) => this.status(m, 1000)));
        const leaders = new Set(st.map((s) => s.leader));
        const indexes = new Set(st.map((s) => s.raftIndex));
        const leaderId = st[0]?.leader ?? 0n;
        const leader = live.find((m) => m.id === leaderId);
        if (leaders.size === 1 && leaderId !== 0n && leader && (!sameIndex || indexes.size === 1)) return leader;
        last = st.map((s, i) => `${live[i].name}: leader ${s.leader.toString(16)} index ${s.raftIndex}`).join('; ');
      } catch (e) {
        last = (e as Error).message;
      }
      await sleep(50);
    }
    throw new Error(`${this.kind}: members did not settle on a leader within ${timeoutMs} ms (${last})`);
  }

  /** leader returns the member every running member names as leader. */
  leader(): Promise<BenchMember> {
    return this.waitStable();
  }

  /** signal sends a signal to member m's process and resolves once it exited. */
  async signalAndWait(m: BenchMember, sig: NodeJS.Signals, timeoutMs = 15_000): Promise<void> {
    const p = m.proc;
    if (!p || !isAlive(p)) return;
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    process.kill(p.pid!, sig);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
    const outcome = await Promise.race([gone, late]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      process.kill(p.pid!, 'SIGKILL');
      await gone;
      throw new Error(`${m.name} did not exit within ${timeoutMs} ms of ${sig}; killed it`);
    }
    // The client channel to a dead member is useless: drop it.
    this.channels.get(m.endpoint)?.close();
    this.channels.delete(m.endpoint);
  }

  logTail(m: BenchMember, lines = 20): string {
    try {
      return fs.readFileSync(m.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** stopGracefully sends SIGTERM to every member (so profilers write their files) and waits. */
  async stopGracefully(): Promise<void> {
    await Promise.all(this.running().map((m) => this.signalAndWait(m, 'SIGTERM').catch(() => undefined)));
  }

  /** close kills every member by PID and removes the data dirs (unless keep). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.channels.values()) c.close();
    this.channels.clear();
    for (const m of this.members) {
      const p = m.proc;
      if (p && isAlive(p) && p.pid !== undefined) {
        try {
          process.kill(p.pid, 'SIGCONT');
          process.kill(p.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    if (!this.options.keep) fs.rmSync(this.root, { recursive: true, force: true });
  }
}

function isAlive(p: ChildProcess | undefined): p is ChildProcess {
  return !!p && p.exitCode === null && p.signalCode === null;
}

/** EtcdCluster runs the etcd binary with its defaults except addresses and raft timings. */
export class EtcdCluster extends Cluster {
  readonly kind = 'etcd';

  protected command(m: BenchMember): MemberCommand {
    if (!this.options.etcdBin) throw new Error('EtcdCluster needs options.etcdBin');
    return {
      file: this.options.etcdBin,
      args: [
        '--name', m.name,
        '--data-dir', m.dataDir,
        '--listen-client-urls', m.clientUrl,
        '--advertise-client-urls', m.clientUrl,
        '--listen-peer-urls', m.peerUrl,
        '--initial-advertise-peer-urls', m.peerUrl,
        '--initial-cluster', this.initialCluster(),
        '--initial-cluster-state', 'new',
        '--initial-cluster-token', `bench-${path.basename(this.root)}`,
        '--heartbeat-interval', String(this.options.heartbeatMs),
        '--election-timeout', String(this.options.electionMs),
        '--logger', 'zap',
        '--log-outputs', 'stderr',
      ],
    };
  }
}

/**
 * ReplicantCluster runs replica/main.ts on this Node (24) with its default flags except addresses and raft timings,
 * and node with the flags and environment the image uses (REPLICA_NODE_FLAGS, REPLICA_NODE_ENV); `nodeFlags`
 * come after the flags, so they win; a variable set in the bench's own environment (even empty) wins over REPLICA_NODE_ENV.
 */
export class ReplicantCluster extends Cluster {
  readonly kind = 'replicant';

  protected command(m: BenchMember): MemberCommand {
    return {
      file: process.execPath,
      args: [
        ...REPLICA_NODE_FLAGS,
        ...(this.options.nodeFlags ?? []).map((f) => f.replaceAll('{name}', m.name)),
        this.options.replicaMain ?? REPLICA_MAIN,
        '--name', m.name,
        '--data-dir', m.dataDir,
        '--listen-client-urls', m.clientUrl,
        '--listen-peer-urls', m.peerUrl,
        '--listen-metrics-urls', `http://${m.ip}:2381`,
        '--initial-cluster', this.initialCluster(),
        '--initial-cluster-state', 'new',
        '--initial-cluster-token', `bench-${path.basename(this.root)}`,
        '--heartbeat-interval', String(this.options.heartbeatMs),
        '--election-timeout', String(this.options.electionMs),
        ...(this.options.replicaFlags ?? []),
      ],
      env: REPLICA_NODE_ENV,
    };
  }
}
