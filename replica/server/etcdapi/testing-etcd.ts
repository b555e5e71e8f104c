// Test helpers for process-level tests: run the real `etcdctl` (Debian package
// etcd-client) and start a real `etcd` (etcd-server) on 127.0.0.1 with a
// temporary data dir, for comparing answers. Every process started here is
// tracked by PID and killed by the test's cleanup, also on failure; temp dirs
// are removed. For tests only; production code must never import it.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { clientConstructor } from '../../../proto/grpc.ts';
import { ETCD_PROTO_ROOT } from './wire.ts';

/** Cleanup is what node:test's TestContext offers for teardown. */
interface Cleanup {
  after(fn: () => void | Promise<void>): void;
}

/** findBinary returns the path of an executable on PATH, or null. */
export function findBinary(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** requireBinary returns the path of `name` or throws an error saying which Debian package to install. */
export function requireBinary(name: string, debianPackage: string): string {
  const found = findBinary(name);
  if (!found) {
    throw new Error(`${name} not found on PATH: install it with \`apt-get install -y --no-install-recommends ${debianPackage}\` (CI's .ci/run does)`);
  }
  return found;
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Processes tracks children so a test's cleanup can kill whatever is still running, by PID. */
export class Processes {
  private readonly live = new Set<ChildProcess>();

  constructor(t: Cleanup) {
    t.after(() => this.killAll());
  }

  track(child: ChildProcess): ChildProcess {
    this.live.add(child);
    child.once('exit', () => this.live.delete(child));
    return child;
  }

  killAll(): void {
    for (const child of this.live) {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
    }
    this.live.clear();
  }

  /** run executes a command to completion (killing it after timeoutMs) and captures its output. */
  run(file: string, args: string[], options: { stdin?: string | Buffer; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Run> {
    return new Promise((resolve, reject) => {
      const child = this.track(spawn(file, args, { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] }));
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout!.on('data', (d: Buffer) => out.push(d));
      child.stderr!.on('data', (d: Buffer) => err.push(d));
      const timer = setTimeout(() => {
        if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
        reject(new Error(`${path.basename(file)} ${args.join(' ')} did not finish within ${options.timeoutMs ?? 20000} ms`));
      }, options.timeoutMs ?? 20000);
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
      });
      child.stdin!.on('error', () => {
        // The child may exit before reading all of stdin (e.g. it rejects the input).
      });
      child.stdin!.end(options.stdin ?? '');
    });
  }
}

/** Etcdctl runs `etcdctl` with API v3 against fixed endpoints. */
export class Etcdctl {
  private readonly bin: string;
  private readonly procs: Processes;
  readonly endpoints: string[];

  constructor(procs: Processes, endpoints: string[]) {
    this.bin = requireBinary('etcdctl', 'etcd-client');
    this.procs = procs;
    this.endpoints = endpoints;
  }

  run(args: string[], stdin?: string | Buffer): Promise<Run> {
    return this.procs.run(this.bin, [`--endpoints=${this.endpoints.join(',')}`, '--command-timeout=10s', ...args], {
      stdin,
      env: { ...process.env, ETCDCTL_API: '3' },
    });
  }
}

/** freePort asks the kernel for an unused 127.0.0.1 port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** waitFor polls `probe` until it resolves true or the deadline passes. */
export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      if (await probe()) return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/** rangeOnce issues one Range to `endpoint` and resolves true if it succeeded. */
function rangeOnce(endpoint: string): Promise<boolean> {
  const KV = clientConstructor(ETCD_PROTO_ROOT, 'etcdserverpb.KV');
  const client = new KV(endpoint, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    Range: (req: unknown, opts: grpc.CallOptions, cb: (err: Error | null) => void) => void;
  };
  return new Promise((resolve) => {
    client.Range({ key: Buffer.from('health') }, { deadline: Date.now() + 1000 }, (err) => {
      client.close();
      resolve(!err);
    });
  });
}

export interface RealEtcd {
  endpoint: string;
  pid: number;
  /** logTail returns the end of etcd's log, for failure messages. */
  logTail(): string;
}

/**
 * startRealEtcd starts a single-member etcd on 127.0.0.1 with a fresh data
 * dir under os.tmpdir(); the test's cleanup kills it by PID and removes the dir.
 */
export async function startRealEtcd(t: Cleanup, procs: Processes): Promise<RealEtcd> {
  const bin = requireBinary('etcd', 'etcd-server');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-etcd-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const clientPort = await freePort();
  const peerPort = await freePort();
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const child = procs.track(spawn(bin, [
    '--name', 'etcd-compare', '--data-dir', path.join(dir, 'data'),
    '--listen-client-urls', client, '--advertise-client-urls', client,
    '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
    '--initial-cluster', `etcd-compare=${peer}`, '--initial-cluster-state', 'new',
  ], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let log = '';
  const keep = (d: Buffer) => {
    log = (log + d.toString()).slice(-8000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const endpoint = `127.0.0.1:${clientPort}`;
  try {
    await waitFor('etcd to serve', async () => {
      if (child.exitCode !== null) throw new Error(`etcd exited with ${child.exitCode}`);
      return rangeOnce(endpoint);
    }, 20000);
  } catch (err) {
    throw new Error(`${(err as Error).message}\netcd log:\n${log}`);
  }
  return { endpoint, pid: child.pid!, logTail: () => log };
}
