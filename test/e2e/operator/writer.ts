// A client write load for the operator end-to-end tests: one writer puts
// unique keys through the group's client Service (as an application would),
// remembers every acknowledged write, and afterwards proves that none was
// lost and measures how long writes stopped after a fault. Paced (not a
// benchmark) so it does not starve the members on a small machine.
// Must never count a write as acknowledged unless the server said so, and
// never retry a key: a failed write's outcome is unknown and is not checked.
import type * as grpc from '@grpc/grpc-js';
import { EtcdClient } from '../etcd-client.ts';

export interface Ack {
  key: string;
  value: string;
  /** at: when the acknowledgement arrived (ms since the epoch) */
  at: number;
}

export interface Outage {
  /** resumedAfterMs: from the fault to the acknowledgement that ended the longest gap (writes flowing again). */
  resumedAfterMs: number;
  /** longestGapMs: the longest time without an acknowledgement between the fault and `until`. */
  longestGapMs: number;
  failures: number;
}

export class Writer {
  readonly prefix: string;
  readonly acked: Ack[] = [];
  readonly failures: { at: number; message: string }[] = [];
  private readonly endpoint: string;
  private client: EtcdClient;
  private seq = 0;
  private stopped = false;
  private loop: Promise<void> | undefined;

  private readonly paceMs: number;
  private readonly tls: { credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions } | undefined;

  /** tls: the group's client credentials (OperatorEnv.clientTls) when it speaks TLS. */
  constructor(endpoint: string, prefix: string, paceMs = 80, tls?: { credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions }) {
    this.paceMs = paceMs;
    this.tls = tls;
    this.endpoint = endpoint;
    this.prefix = prefix;
    // A short per-write deadline: a write stuck on a dead leader fails soon, so the measured
    // interruption is the group's, not the client's timeout.
    this.client = new EtcdClient(endpoint, 2000, tls?.credentials, tls?.options);
  }

  start(): this {
    this.loop = this.run();
    return this;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const n = this.seq++;
      const key = `${this.prefix}/${String(n).padStart(6, '0')}`;
      const value = `v${n}-${Date.now()}`;
      try {
        await this.client.put(key, value);
        this.acked.push({ key, value, at: Date.now() });
      } catch (e) {
        this.failures.push({ at: Date.now(), message: (e as Error).message.split('\n')[0] });
        // A fresh channel: the Service proxy may have dropped the connection to a member that went away.
        this.client.close();
        this.client = new EtcdClient(this.endpoint, 2000, this.tls?.credentials, this.tls?.options);
        await pace(200);
      }
      await pace(this.paceMs);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    this.client.close();
  }

  /** ackedSince counts acknowledgements after `t`. */
  ackedSince(t: number): number {
    return this.acked.filter((a) => a.at >= t).length;
  }

  /** outage measures the write interruption caused by a fault at `faultAt`, up to `until`. */
  outage(faultAt: number, until: number): Outage {
    let prev = faultAt;
    let longest = 0;
    let resumedAt = Number.POSITIVE_INFINITY;
    for (const a of this.acked) {
      if (a.at < faultAt || a.at > until) continue;
      if (a.at - prev > longest) {
        longest = a.at - prev;
        resumedAt = a.at;
      }
      prev = a.at;
    }
    if (Math.min(until, Date.now()) - prev > longest) {
      // Still stalled at the end of the window.
      longest = Math.min(until, Date.now()) - prev;
      resumedAt = Number.POSITIVE_INFINITY;
    }
    return { resumedAfterMs: resumedAt - faultAt, longestGapMs: longest, failures: this.failures.filter((f) => f.at >= faultAt && f.at <= until).length };
  }

  /** lostWrites reads the writer's keys back (linearizably, through `endpoint`) and lists acknowledged writes that are missing or changed. */
  async lostWrites(endpoint = this.endpoint): Promise<string[]> {
    const c = new EtcdClient(endpoint, 15_000, this.tls?.credentials, this.tls?.options);
    try {
      const kvs = await c.range(`${this.prefix}/`, `${this.prefix}0`);
      const found = new Map(kvs.map((kv) => [kv.key, kv.value]));
      return this.acked.filter((a) => found.get(a.key) !== a.value).map((a) => `${a.key}: want ${a.value}, got ${found.get(a.key) ?? '(missing)'}`);
    } finally {
      c.close();
    }
  }
}

function pace(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
