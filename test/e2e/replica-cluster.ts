// Test tooling: a group of real replica processes on 127.0.0.0/8. Each member
// gets its own loopback address (127.A.B.n) and etcd's default ports, as pods
// do in a cluster. Every process is tracked by PID and killed when the test
// ends, also on failure; data dirs live under os.tmpdir() and are removed.
// Must never bind or dial outside 127.0.0.0/8.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EtcdClient } from './etcd-client.ts';
import { adminClient } from '../../replica/server/admin-service.ts';
import { ClusterTls, type TlsOptions } from './cluster-tls.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const REPLICA_MAIN = path.join(REPO, 'replica/main.ts');

export interface Cleanup {
  after(fn: () => void | Promise<void>): void;
}

export interface MemberProcess {
  name: string;
  ip: string;
  clientUrl: string;
  peerUrl: string;
  metricsUrl: string;
  /** host:port of the client API */
  endpoint: string;
  dataDir: string;
  proc?: ChildProcess;
  /** the member's last 2000 log lines */
  log: string[];
  /** how many log lines the member has written in all (a mark for logSince) */
  logged: number;
}

/** logSince is what `m` logged after `mark` (an earlier m.logged), as far as its last 2000 lines reach. */
export function logSince(m: MemberProcess, mark: number): string[] {
  return m.log.slice(Math.max(0, m.log.length - (m.logged - mark)));
}

/** waitFor polls `probe` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

let subnetCounter = 0;

/** pickSubnet returns a 127.A.B prefix unlikely to collide with other tests running at the same time. */
export function pickSubnet(): string {
  const n = (process.pid * 7 + subnetCounter++ * 131 + Math.floor(Math.random() * 1000)) % 60000;
  return `127.${20 + Math.floor(n / 250) % 200}.${1 + (n % 250)}`;
}

export class ReplicaCluster {
  readonly members = new Map<string, MemberProcess>();
  readonly subnet: string;
  readonly root: string;
  readonly token: string;
  private readonly extraFlags: string[];
  private readonly logDir: string | undefined;
  private next = 1;
  private readonly clients = new Map<string, EtcdClient>();
  /** the group's certificates when started with `tls` (https:// URLs, operator/pki certificates) */
  readonly tls: ClusterTls | undefined;

  /** logDir: also append each member's whole output to `<logDir>/<name>.log` (kept after the cluster is gone). */
  constructor(t: Cleanup, opts: { extraFlags?: string[]; logDir?: string; tls?: TlsOptions } = {}) {
    this.subnet = pickSubnet();
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-e2e-'));
    this.token = `e2e-${path.basename(this.root)}`;
    this.extraFlags = opts.extraFlags ?? [];
    this.logDir = opts.logDir;
    this.tls = opts.tls ? new ClusterTls(path.join(this.root, 'tls'), opts.tls) : undefined;
    t.after(async () => {
      for (const c of this.clients.values()) c.close();
      this.killAll();
      fs.rmSync(this.root, { recursive: true, force: true });
    });
  }

  /** define allocates an address and data dir for a new member (not started). */
  define(name?: string): MemberProcess {
    const n = this.next++;
    const nm = name ?? `m${n}`;
    const ip = `${this.subnet}.${n}`;
    const clientScheme = this.tls?.options.client ? 'https' : 'http';
    const peerScheme = this.tls?.options.peer ? 'https' : 'http';
    this.tls?.writeMember(nm, ip);
    const m: MemberProcess = {
      name: nm,
      ip,
      clientUrl: `${clientScheme}://${ip}:2379`,
      peerUrl: `${peerScheme}://${ip}:2380`,
      metricsUrl: `http://${ip}:2381`,
      endpoint: `${ip}:2379`,
      dataDir: path.join(this.root, nm),
      log: [],
      logged: 0,
    };
    this.members.set(nm, m);
    return m;
  }

  initialCluster(ms: MemberProcess[]): string {
    return ms.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  }

  /** start launches (or relaunches) a member's process. */
  start(m: MemberProcess, state: 'new' | 'existing', initialCluster: string, flags: string[] = []): void {
    const args = [
      REPLICA_MAIN,
      '--name', m.name,
      '--data-dir', m.dataDir,
      '--listen-client-urls', m.clientUrl,
      '--listen-peer-urls', m.peerUrl,
      '--listen-metrics-urls', m.metricsUrl,
      '--initial-cluster', initialCluster,
      '--initial-cluster-state', state,
      '--initial-cluster-token', this.token,
      ...(this.tls?.flags(m.name) ?? []),
      ...this.extraFlags,
      ...flags,
    ];
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const file = this.logDir ? fs.createWriteStream(path.join(this.logDir, `${m.name}.log`), { flags: 'a' }) : undefined;
    const keep = (d: Buffer) => {
      file?.write(d);
      for (const line of d.toString().split('\n')) {
        if (!line) continue;
        m.log.push(line);
        m.logged++;
      }
      if (m.log.length > 2000) m.log.splice(0, m.log.length - 2000);
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    if (file) proc.once('close', () => file.end());
    m.proc = proc;
  }

  /** launch founds a new group of `size` members and waits for a leader. */
  async launch(size: number, flags: string[] = []): Promise<MemberProcess[]> {
    const ms = Array.from({ length: size }, () => this.define());
    const ic = this.initialCluster(ms);
    for (const m of ms) this.start(m, 'new', ic, flags);
    await this.waitLeader(ms);
    return ms;
  }

  client(m: MemberProcess): EtcdClient {
    let c = this.clients.get(m.name);
    if (!c) {
      const d = this.tls?.options.client ? this.tls.dial(m.ip) : undefined;
      c = new EtcdClient(m.endpoint, 5000, d?.credentials, d?.options);
      this.clients.set(m.name, c);
    }
    return c;
  }

  /** adminOf is an admin API client for member `m` (with the operator's certificate under TLS); close it after use. */
  adminOf(m: MemberProcess): ReturnType<typeof adminClient> {
    const d = this.tls?.options.client ? this.tls.dial(m.ip) : undefined;
    return adminClient(m.endpoint, d?.credentials, d?.options);
  }

  running(): MemberProcess[] {
    return [...this.members.values()].filter((m) => m.proc && m.proc.exitCode === null && m.proc.signalCode === null);
  }

  /**
   * waitLeader waits until the given members agree on one leader; returns its
   * member. On timeout the error says what each member last answered, whether
   * its process is still running, and its last log lines.
   */
  async waitLeader(ms: MemberProcess[] = this.running(), timeoutMs = 60_000): Promise<MemberProcess> {
    let answers: unknown[] = [];
    try {
      return await waitFor(
        'a leader all members agree on',
        async () => {
          const st = await Promise.all(ms.map((m) => this.adminStatus(m).catch((e: Error) => ({ error: e.message }))));
          answers = st;
          if (st.some((s) => s.error !== undefined || s.leader === 0)) return undefined;
          const leaders = new Set(st.map((s) => s.leader));
          if (leaders.size !== 1) return undefined;
          const id = st[0].leader;
          const i = st.findIndex((s) => s.memberId === id);
          return i >= 0 ? ms[i] : undefined;
        },
        timeoutMs,
      );
    } catch (e) {
      const state = ms.map((m, i) => {
        const p = m.proc;
        const proc = !p ? 'not started' : p.exitCode !== null ? `exited ${p.exitCode}` : p.signalCode !== null ? `killed by ${p.signalCode}` : 'running';
        const a = answers[i] as { error?: string; leader?: unknown; memberId?: unknown } | undefined;
        const said = !a ? 'no answer' : a.error !== undefined ? `status failed: ${a.error}` : `member ${a.memberId}, leader ${a.leader}`;
        return `  ${m.name} (${proc}; ${said}); last log lines:\n${m.log.slice(-5).map((l) => `    ${l}`).join('\n')}`;
      });
      throw new Error(`${(e as Error).message}\n${state.join('\n')}`);
    }
  }

  adminStatus(m: MemberProcess): Promise<any> {
    const c = this.adminOf(m);
    return new Promise((resolve, reject) =>
      c.Status({}, { deadline: Date.now() + 2000 }, (err: Error | null, r: unknown) => {
        c.close();
        if (err) reject(err);
        else resolve(r);
      }),
    );
  }

  admin(m: MemberProcess, method: string, req: object, timeoutMs = 30_000): Promise<any> {
    const c = this.adminOf(m);
    return new Promise((resolve, reject) =>
      c[method](req, { deadline: Date.now() + timeoutMs }, (err: Error | null, r: unknown) => {
        c.close();
        if (err) reject(err);
        else resolve(r);
      }),
    );
  }

  /** signal sends a signal to a member's process (SIGKILL, SIGSTOP, SIGCONT, SIGTERM). */
  signal(m: MemberProcess, sig: NodeJS.Signals): void {
    if (m.proc?.pid !== undefined && m.proc.exitCode === null && m.proc.signalCode === null) process.kill(m.proc.pid, sig);
  }

  /** kill sends SIGKILL and waits for the process to be gone. */
  async kill(m: MemberProcess): Promise<void> {
    const p = m.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    process.kill(p.pid!, 'SIGKILL');
    await gone;
  }

  /** stop sends SIGTERM and resolves with the exit code. */
  async stop(m: MemberProcess): Promise<number | null> {
    const p = m.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return p?.exitCode ?? null;
    const gone = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    process.kill(p.pid!, 'SIGTERM');
    return gone;
  }

  killAll(): void {
    for (const m of this.members.values()) {
      const p = m.proc;
      if (p?.pid !== undefined && p.exitCode === null && p.signalCode === null) {
        try {
          process.kill(p.pid, 'SIGCONT');
          process.kill(p.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  }

  /** logTail renders the end of every member's log, for failure messages. */
  logTail(lines = 15): string {
    return [...this.members.values()].map((m) => `--- ${m.name}\n${m.log.slice(-lines).join('\n')}`).join('\n');
  }
}
