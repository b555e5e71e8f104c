// A minimal unary gRPC client for the load generator, on the same HTTP/2 and
// gRPC client code a replica uses to reach its peers (replica/grpc/client.ts):
// one connection per endpoint, requests and responses as raw protobuf bytes,
// deadlines checked by one coarse sweep instead of a timer per call. It keeps
// the client's own cost per request small, so the servers and not the load
// generator set the pace (on node:http2 its collector's pauses were part of
// every system's tail: docs/benchmarks.md, item 29). It must never retry (the caller decides what a
// failure means) and never dial outside 127.0.0.0/8.
import net from 'node:net';
import { GrpcChannel, type ClientCall, type MethodCodec } from '../../replica/grpc/client.ts';
import { IdTable } from '../../replica/util/id-table.ts';

/** GrpcCallError is a failed call: a gRPC status code (or -1 for transport trouble) and a message. */
export class GrpcCallError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.name = 'GrpcCallError';
    this.code = code;
  }
}

/** GRPC_STATUS names the status codes the load generator reports. */
export const GRPC_STATUS: Record<number, string> = {
  [-1]: 'TRANSPORT',
  0: 'OK',
  1: 'CANCELLED',
  2: 'UNKNOWN',
  3: 'INVALID_ARGUMENT',
  4: 'DEADLINE_EXCEEDED',
  5: 'NOT_FOUND',
  6: 'ALREADY_EXISTS',
  7: 'PERMISSION_DENIED',
  8: 'RESOURCE_EXHAUSTED',
  9: 'FAILED_PRECONDITION',
  10: 'ABORTED',
  11: 'OUT_OF_RANGE',
  12: 'UNIMPLEMENTED',
  13: 'INTERNAL',
  14: 'UNAVAILABLE',
  15: 'DATA_LOSS',
  16: 'UNAUTHENTICATED',
};

/** assertLoopback refuses an endpoint ("host:port") whose host is not an IPv4 address in 127.0.0.0/8. */
export function assertLoopback(endpoint: string): void {
  const host = endpoint.slice(0, endpoint.lastIndexOf(':'));
  if (net.isIPv4(host) && host.startsWith('127.')) return;
  throw new Error(`refusing endpoint ${JSON.stringify(endpoint)}: the benchmark only talks to IPv4 addresses in 127.0.0.0/8`);
}

interface PendingCall {
  call: ClientCall<Uint8Array, Buffer>;
  deadline: number;
  fail(err: GrpcCallError): void;
}

const SWEEP_MS = 20;
/** the largest response the load generator accepts (a range over many keys) */
const MAX_RESPONSE_BYTES = 64 << 20;

/** LeanChannel carries unary calls to one endpoint; it reconnects lazily after the connection closes. */
export class LeanChannel {
  readonly endpoint: string;
  private channel: GrpcChannel | undefined;
  /** calls in flight by a counter (an IdTable, not a Set: see replica/util/id-table.ts) */
  private readonly pending = new IdTable<PendingCall>();
  private calls = 0;
  private readonly codecs = new Map<string, MethodCodec<Uint8Array, Buffer>>();
  private sweeper: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(endpoint: string) {
    assertLoopback(endpoint);
    this.endpoint = endpoint;
  }

  private connect(): GrpcChannel {
    const at = this.endpoint.lastIndexOf(':');
    const channel = new GrpcChannel({ host: this.endpoint.slice(0, at), port: Number(this.endpoint.slice(at + 1)), maxReceiveBytes: MAX_RESPONSE_BYTES });
    this.channel = channel;
    return channel;
  }

  private codec(path: string): MethodCodec<Uint8Array, Buffer> {
    let c = this.codecs.get(path);
    if (c === undefined) this.codecs.set(path, (c = { path, serialize: (bytes) => bytes, deserialize: (bytes) => bytes }));
    return c;
  }

  private ensureSweeper(): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => {
      const now = performance.now();
      for (const p of this.pending.valuesNow()) {
        if (p.deadline <= now) p.fail(new GrpcCallError(4, 'deadline exceeded (client side)'));
      }
      if (this.pending.size === 0) {
        clearInterval(this.sweeper);
        this.sweeper = undefined;
      }
    }, SWEEP_MS);
    this.sweeper.unref();
  }

  /** unary sends one request message to `path` (e.g. /etcdserverpb.KV/Put) and resolves with the response message bytes. */
  unary(path: string, message: Uint8Array, timeoutMs: number): Promise<Buffer> {
    if (this.closed) return Promise.reject(new GrpcCallError(1, 'channel closed'));
    return new Promise<Buffer>((resolve, reject) => {
      let channel = this.channel;
      if (channel === undefined || !channel.open) channel = this.connect();
      const call = channel.call(this.codec(path), [['grpc-timeout', `${Math.max(1, Math.ceil(timeoutMs))}m`]]);
      let response: Buffer | undefined;
      let done = false;
      const seq = ++this.calls;
      const pending: PendingCall = {
        call,
        deadline: performance.now() + timeoutMs,
        fail: (err) => {
          if (done) return;
          done = true;
          this.pending.delete(seq);
          call.cancel();
          reject(err);
        },
      };
      this.pending.set(seq, pending);
      this.ensureSweeper();
      call.onMessage = (bytes) => {
        if (response === undefined) response = bytes;
        else pending.fail(new GrpcCallError(13, `${this.endpoint}: more than one response message to a unary call`));
      };
      call.onStatus = (code, details) => {
        if (done) return;
        done = true;
        this.pending.delete(seq);
        if (code === 0) {
          if (response === undefined) reject(new GrpcCallError(13, `${this.endpoint}: response without a message`));
          else resolve(response);
        } else if (code === 14 && channel.failure !== undefined) {
          // the connection failed (refused, reset): a transport error, and the next call dials again
          if (this.channel === channel) this.channel = undefined;
          reject(new GrpcCallError(-1, `${this.endpoint}: ${details}`));
        } else {
          reject(new GrpcCallError(code, details || GRPC_STATUS[code] || `status ${code}`));
        }
      };
      call.write(message);
      call.end();
    });
  }

  /** close fails every pending call and closes the connection. */
  close(): void {
    this.closed = true;
    for (const p of this.pending.valuesNow()) p.fail(new GrpcCallError(1, 'channel closed'));
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    const c = this.channel;
    this.channel = undefined;
    c?.close();
  }
}
