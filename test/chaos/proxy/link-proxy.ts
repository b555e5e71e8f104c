// A fault-injecting TCP proxy for one directed link (A dials B through it).
// Our kernels have no netem, so partitions, delays and "loss" between replicas
// come from here: every byte between the dialer and the target passes through
// this process, which forwards, delays, swallows or resets according to the
// current Fault. Bytes of one connection are never reordered, duplicated or
// altered: a fault only delays, withholds or cuts a stream.
// It must never bind or connect outside 127.0.0.0/8, and stop() must leave no
// socket, timer or listener behind.
import net from 'node:net';
import { parseLoopbackEndpoint, formatEndpoint } from './address.ts';
import type { Endpoint } from './address.ts';
import { checkFault, PASS } from './faults.ts';
import type { Fault } from './faults.ts';
import { prng } from './prng.ts';
import type { Prng } from './prng.ts';

export interface LinkProxyOptions {
  /** Where to listen, `127.x.y.z:port`; port 0 picks a free one. Default 127.0.0.1:0. */
  readonly listen?: string;
  /** Where to forward, `127.x.y.z:port` (or a bare port on 127.0.0.1). */
  readonly target: string;
  /** Initial fault; default pass. */
  readonly fault?: Fault;
}

/** LinkStats counts what the proxy did, so tests can wait for a condition instead of sleeping. */
export interface LinkStats {
  /** Connections accepted from dialers. */
  readonly accepted: number;
  /** Of those, reset at once because the link was partitioned. */
  readonly refused: number;
  /** Connections open now. */
  readonly active: number;
  /** Connections the proxy reset (faults, lifting a blackhole, stop). */
  readonly resets: number;
  /** Bytes delivered to the target, and back to dialers. */
  readonly toTarget: number;
  readonly fromTarget: number;
  /** Bytes swallowed: blackholed, or queued when a connection was cut. */
  readonly discarded: number;
}

export interface LinkProxy {
  /** The host the proxy listens on (127.x.y.z). */
  readonly address: string;
  readonly port: number;
  /** `address:port`: what the dialer connects to. */
  readonly endpoint: string;
  /** `host:port` of the target. */
  readonly target: string;
  /** The fault in force. */
  readonly fault: Fault;
  /** setFault changes the fault; effects on existing connections happen before it returns. */
  setFault(fault: Fault): void;
  stats(): LinkStats;
  /** stop closes the listener and every connection; resolves once the listener is closed. */
  stop(): Promise<void>;
}

/** startLinkProxy listens and forwards to the target under the given fault. */
export async function startLinkProxy(options: LinkProxyOptions): Promise<LinkProxy> {
  const listen = parseLoopbackEndpoint(options.listen ?? '127.0.0.1:0', 'listen');
  const target = parseLoopbackEndpoint(options.target, 'target');
  const proxy = new TcpLinkProxy(target, checkFault(options.fault ?? PASS));
  await proxy.listen(listen);
  return proxy;
}

/** One direction of one connection: chunks in order, each with the time it may be delivered. */
class Direction {
  readonly chunks: Buffer[] = [];
  readonly due: number[] = [];
  lastDue = 0;
  timer: NodeJS.Timeout | undefined;
  /** The source sent FIN: end the destination once the queue is delivered. */
  ended = false;
  waitingForDrain = false;
  readonly toTarget: boolean;
  constructor(toTarget: boolean) {
    this.toTarget = toTarget;
  }
}

class Connection {
  readonly client: net.Socket;
  upstream: net.Socket | undefined;
  readonly up = new Direction(true);
  readonly down = new Direction(false);
  /** Lived through a blackhole: reset when it is lifted. */
  heldInBlackhole = false;
  lossRng: Prng | undefined;
  closed = false;
  constructor(client: net.Socket) {
    this.client = client;
  }
}

class TcpLinkProxy implements LinkProxy {
  readonly #server: net.Server;
  readonly #target: Endpoint;
  readonly #connections = new Set<Connection>();
  #fault: Fault;
  #delayRng: Prng = prng(1);
  #lossStream = 0;
  #stopped = false;
  #bound: Endpoint = { host: '', port: 0 };
  #stats = { accepted: 0, refused: 0, resets: 0, toTarget: 0, fromTarget: 0, discarded: 0 };

  constructor(target: Endpoint, fault: Fault) {
    this.#target = target;
    this.#fault = PASS;
    this.#server = net.createServer({ allowHalfOpen: true }, (socket) => this.#accept(socket));
    this.setFault(fault);
  }

  get address(): string {
    return this.#bound.host;
  }
  get port(): number {
    return this.#bound.port;
  }
  get endpoint(): string {
    return formatEndpoint(this.#bound);
  }
  get target(): string {
    return formatEndpoint(this.#target);
  }
  get fault(): Fault {
    return this.#fault;
  }

  listen(at: Endpoint): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(new Error(`proxy: cannot listen on ${formatEndpoint(at)}: ${err.message}`));
      this.#server.once('error', onError);
      this.#server.listen({ host: at.host, port: at.port, exclusive: true }, () => {
        this.#server.off('error', onError);
        const a = this.#server.address() as net.AddressInfo;
        this.#bound = { host: a.address, port: a.port };
        resolve();
      });
    });
  }

  setFault(fault: Fault): void {
    const next = checkFault(fault);
    const previous = this.#fault;
    this.#fault = next;
    if (next.kind === 'delay') this.#delayRng = prng(next.seed ?? 1);
    if (next.kind === 'partition') {
      for (const c of [...this.#connections]) this.#reset(c);
      return;
    }
    if (next.kind === 'blackhole') {
      for (const c of this.#connections) {
        c.heldInBlackhole = true;
        this.#discardQueued(c.up);
        this.#discardQueued(c.down);
      }
      return;
    }
    if (previous.kind === 'blackhole') {
      for (const c of [...this.#connections]) if (c.heldInBlackhole) this.#reset(c);
    }
    if (next.kind === 'loss') {
      this.#lossStream = 0;
      for (const c of this.#connections) c.lossRng = prng(next.seed ?? 1, this.#lossStream++);
    }
  }

  stats(): LinkStats {
    return { ...this.#stats, active: this.#connections.size };
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const c of [...this.#connections]) this.#reset(c);
    await closed;
  }

  #accept(client: net.Socket): void {
    this.#stats.accepted++;
    if (this.#stopped || this.#fault.kind === 'partition') {
      this.#stats.refused++;
      client.on('error', () => {});
      client.resetAndDestroy();
      return;
    }
    const c = new Connection(client);
    this.#connections.add(c);
    client.setNoDelay(true);
    client.on('data', (chunk: Buffer) => this.#receive(c, c.up, chunk));
    client.on('end', () => this.#finish(c, c.up));
    client.on('error', () => this.#reset(c));
    client.on('close', () => this.#closed(c));
    const fault = this.#fault;
    if (fault.kind === 'loss') c.lossRng = prng(fault.seed ?? 1, this.#lossStream++);
    if (fault.kind === 'blackhole') {
      // Like a dropped SYN-ACK path: the target never hears of this connection.
      c.heldInBlackhole = true;
      return;
    }
    this.#connectUpstream(c);
  }

  #connectUpstream(c: Connection): void {
    const up = net.connect({ host: this.#target.host, port: this.#target.port, allowHalfOpen: true });
    c.upstream = up;
    up.setNoDelay(true);
    up.on('data', (chunk: Buffer) => this.#receive(c, c.down, chunk));
    up.on('end', () => this.#finish(c, c.down));
    up.on('error', () => this.#reset(c));
    up.on('close', () => this.#closed(c));
  }

  #source(c: Connection, d: Direction): net.Socket | undefined {
    return d.toTarget ? c.client : c.upstream;
  }

  #destination(c: Connection, d: Direction): net.Socket | undefined {
    return d.toTarget ? c.upstream : c.client;
  }

  #receive(c: Connection, d: Direction, chunk: Buffer): void {
    if (c.closed) return;
    const fault = this.#fault;
    if (fault.kind === 'blackhole' || fault.kind === 'partition' || c.heldInBlackhole) {
      this.#stats.discarded += chunk.length;
      return;
    }
    if (fault.kind === 'loss' && c.lossRng !== undefined && c.lossRng() < fault.rate) {
      this.#stats.discarded += chunk.length;
      this.#reset(c);
      return;
    }
    const now = performance.now();
    let due = now;
    if (fault.kind === 'delay') due = now + fault.ms + (fault.jitterMs ?? 0) * this.#delayRng();
    // Never overtake an earlier chunk of the same direction.
    due = Math.max(due, d.lastDue);
    d.lastDue = due;
    if (d.chunks.length === 0 && due <= now) {
      this.#deliver(c, d, chunk);
      return;
    }
    d.chunks.push(chunk);
    d.due.push(due);
    this.#schedule(c, d);
  }

  #schedule(c: Connection, d: Direction): void {
    if (d.timer !== undefined || d.chunks.length === 0) return;
    const wait = Math.max(0, d.due[0] - performance.now());
    d.timer = setTimeout(() => {
      d.timer = undefined;
      this.#flush(c, d);
    }, Math.ceil(wait));
  }

  #flush(c: Connection, d: Direction): void {
    if (c.closed) return;
    const now = performance.now();
    while (d.chunks.length > 0 && d.due[0] <= now + 0.5) {
      const chunk = d.chunks.shift() as Buffer;
      d.due.shift();
      this.#deliver(c, d, chunk);
      if (c.closed) return;
    }
    if (d.chunks.length > 0) this.#schedule(c, d);
    else if (d.ended) this.#endDestination(c, d);
  }

  #deliver(c: Connection, d: Direction, chunk: Buffer): void {
    const dst = this.#destination(c, d);
    if (dst === undefined || dst.destroyed || dst.writableEnded) {
      this.#stats.discarded += chunk.length;
      this.#reset(c);
      return;
    }
    if (d.toTarget) this.#stats.toTarget += chunk.length;
    else this.#stats.fromTarget += chunk.length;
    if (!dst.write(chunk) && !d.waitingForDrain) {
      // Backpressure: stop reading the source until the destination drains.
      const src = this.#source(c, d);
      d.waitingForDrain = true;
      src?.pause();
      dst.once('drain', () => {
        d.waitingForDrain = false;
        src?.resume();
      });
    }
  }

  #finish(c: Connection, d: Direction): void {
    d.ended = true;
    if (c.closed || c.heldInBlackhole) return; // a blackhole withholds FIN too
    if (d.chunks.length === 0) this.#endDestination(c, d);
  }

  #endDestination(c: Connection, d: Direction): void {
    const dst = this.#destination(c, d);
    if (dst !== undefined && !dst.destroyed && !dst.writableEnded) dst.end();
  }

  #discardQueued(d: Direction): void {
    for (const chunk of d.chunks) this.#stats.discarded += chunk.length;
    d.chunks.length = 0;
    d.due.length = 0;
    if (d.timer !== undefined) clearTimeout(d.timer);
    d.timer = undefined;
  }

  /** reset cuts a connection on both sides with TCP RST, so both peers see ECONNRESET. */
  #reset(c: Connection): void {
    if (c.closed) return;
    c.closed = true;
    this.#stats.resets++;
    this.#discardQueued(c.up);
    this.#discardQueued(c.down);
    this.#connections.delete(c);
    for (const s of [c.client, c.upstream]) {
      if (s === undefined || s.destroyed) continue;
      s.on('error', () => {});
      if (s.connecting || s.readyState === 'closed') s.destroy();
      else s.resetAndDestroy();
    }
  }

  /** closed: one socket finished closing; once the connection is fully closed, forget it. */
  #closed(c: Connection): void {
    if (c.closed) return;
    const clientDone = c.client.destroyed;
    const upstreamDone = c.upstream === undefined || c.upstream.destroyed;
    if (clientDone && upstreamDone) {
      c.closed = true;
      this.#connections.delete(c);
      this.#discardQueued(c.up);
      this.#discardQueued(c.down);
      return;
    }
    // One side is gone without an error: the other side gets no more data from it; close it once its queue is out.
    if (clientDone && c.upstream !== undefined) this.#finish(c, c.up);
    if (c.upstream?.destroyed) this.#finish(c, c.down);
  }
}
