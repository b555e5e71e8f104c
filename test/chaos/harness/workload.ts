// The register workload: N concurrent clients doing read / write / cas (an
// etcd Txn comparing the value) on a few keys, each call sent to a random
// member, every call recorded in the history as invoke then ok / fail / info.
// Written values are unique (a run-wide counter), so the checker can set aside
// unknown writes nobody read. A client whose call ended :info continues under
// a fresh process id (its old call may still be in flight).
// It must never retry a call on its own, and never record an outcome it does
// not know (see outcome.ts).
import { EtcdClient } from '../../e2e/etcd-client.ts';
import type { HistoryRecorder, RegisterValue } from '../history/index.ts';
import type { Prng } from '../proxy/index.ts';
import { failureOutcome } from './outcome.ts';

export interface WorkloadOptions {
  clients: number;
  keys: number;
  /** per-call deadline */
  opTimeoutMs: number;
  /** each client waits U[0, 2*meanThinkMs) between calls */
  meanThinkMs: number;
  /** the client endpoints (host:port) to pick from for each call */
  endpoints: () => string[];
  history: HistoryRecorder;
  rng: Prng;
}

export type OpCounts = Record<'read' | 'write' | 'cas', Record<'ok' | 'fail' | 'info', number>>;

/** etcdKey is the etcd key behind register `k`. */
export function etcdKey(k: number): string {
  return `chaos/r${k}`;
}

/** decodeValue turns what etcd holds back into a register value (our writes are decimal integers). */
export function decodeValue(v: string | undefined): RegisterValue {
  if (v === undefined) return null;
  return /^(0|[1-9]\d{0,14})$/.test(v) ? Number(v) : v;
}

export function emptyCounts(): OpCounts {
  const z = () => ({ ok: 0, fail: 0, info: 0 });
  return { read: z(), write: z(), cas: z() };
}

export class RegisterWorkload {
  readonly counts: OpCounts = emptyCounts();
  /** reasons counts failure reasons (gRPC code and message) */
  readonly reasons = new Map<string, number>();
  private readonly o: WorkloadOptions;
  private readonly pool = new Map<string, EtcdClient>();
  /** the last value seen per key: what a cas expects */
  private readonly lastSeen = new Map<number, RegisterValue>();
  private nextValue = 1;
  private nextProcess: number;
  private running = false;
  private loops: Promise<void>[] = [];
  private wakeups = new Set<() => void>();

  constructor(o: WorkloadOptions) {
    if (!(o.clients >= 1) || !(o.keys >= 1)) throw new Error('workload: clients and keys must be at least 1');
    this.o = o;
    this.nextProcess = o.clients;
  }

  start(): void {
    this.running = true;
    this.loops = Array.from({ length: this.o.clients }, (_, i) => this.client(i));
  }

  /** stop lets every client finish (or time out) its call in progress, then closes the connections. */
  async stop(): Promise<void> {
    this.running = false;
    for (const w of this.wakeups) w();
    await Promise.all(this.loops);
    for (const c of this.pool.values()) c.close();
    this.pool.clear();
  }

  total(): number {
    let n = 0;
    for (const f of Object.values(this.counts)) n += f.ok + f.fail + f.info;
    return n;
  }

  /** nextFreeProcess hands out a process id no client has used (for the final reads). */
  nextFreeProcess(): number {
    return this.nextProcess++;
  }

  okCount(): number {
    return this.counts.read.ok + this.counts.write.ok + this.counts.cas.ok;
  }

  private conn(endpoint: string): EtcdClient {
    let c = this.pool.get(endpoint);
    if (!c) {
      c = new EtcdClient(endpoint, this.o.opTimeoutMs);
      this.pool.set(endpoint, c);
    }
    return c;
  }

  private async think(): Promise<void> {
    const ms = this.o.rng() * 2 * this.o.meanThinkMs;
    if (ms <= 0 || !this.running) return;
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakeups.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakeups.add(wake);
    });
  }

  private async client(index: number): Promise<void> {
    let process = index;
    while (this.running) {
      const endpoints = this.o.endpoints();
      if (endpoints.length === 0) {
        await this.think();
        continue;
      }
      const endpoint = endpoints[Math.floor(this.o.rng() * endpoints.length)];
      const ended = await this.call(process, this.conn(endpoint));
      if (ended === 'info') process = this.nextProcess++;
      await this.think();
    }
  }

  /** call does one random operation as `process` and records it; returns how it ended. */
  private async call(process: number, c: EtcdClient): Promise<'ok' | 'fail' | 'info'> {
    const h = this.o.history;
    const key = Math.floor(this.o.rng() * this.o.keys);
    const r = this.o.rng();
    const f = r < 0.5 ? 'read' : r < 0.75 ? 'write' : 'cas';
    try {
      if (f === 'read') {
        h.invoke(process, { f, key });
        const value = decodeValue((await c.get(etcdKey(key)))?.value);
        h.ok(process, value);
        this.lastSeen.set(key, value);
      } else if (f === 'write') {
        const value = this.nextValue++;
        h.invoke(process, { f, key, value });
        await c.put(etcdKey(key), String(value));
        h.ok(process);
        this.lastSeen.set(key, value);
      } else {
        const from = this.lastSeen.get(key) ?? null;
        const to = this.nextValue++;
        h.invoke(process, { f, key, from, to });
        const swapped = await c.cas(etcdKey(key), from === null ? undefined : String(from), String(to));
        if (!swapped) {
          // The compare found another value: certainly no effect.
          h.fail(process);
          this.counts.cas.fail++;
          this.lastSeen.delete(key);
          return 'fail';
        }
        h.ok(process);
        this.lastSeen.set(key, to);
      }
      this.counts[f].ok++;
      return 'ok';
    } catch (err) {
      const out = failureOutcome(f, err);
      if (out.type === 'fail') h.fail(process, out.error);
      else h.info(process, out.error);
      this.counts[f][out.type]++;
      this.reasons.set(out.reason, (this.reasons.get(out.reason) ?? 0) + 1);
      return out.type;
    }
  }
}
