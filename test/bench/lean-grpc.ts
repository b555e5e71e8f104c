// A minimal unary gRPC client over node:http2 for the load generator: one
// HTTP/2 session per endpoint, requests and responses as raw protobuf bytes,
// deadlines checked by one coarse sweep instead of a timer per call. It keeps
// the client's own cost per request small, so the servers and not the load
// generator set the pace. It must never retry (the caller decides what a
// failure means) and never dial outside 127.0.0.0/8.
import http2 from 'node:http2';
import net from 'node:net';

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

/** percentDecode undoes grpc-message's percent-encoding, keeping the raw text if it is malformed. */
function percentDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

interface PendingCall {
  stream: http2.ClientHttp2Stream;
  deadline: number;
  fail(err: GrpcCallError): void;
}

const SWEEP_MS = 20;

/** LeanChannel carries unary calls to one endpoint; it reconnects lazily after the session closes. */
export class LeanChannel {
  readonly endpoint: string;
  private session: http2.ClientHttp2Session | undefined;
  private readonly pending = new Set<PendingCall>();
  private sweeper: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(endpoint: string) {
    assertLoopback(endpoint);
    this.endpoint = endpoint;
  }

  private connect(): http2.ClientHttp2Session {
    const [host, port] = [this.endpoint.slice(0, this.endpoint.lastIndexOf(':')), Number(this.endpoint.slice(this.endpoint.lastIndexOf(':') + 1))];
    const session = http2.connect(`http://${this.endpoint}`, {
      createConnection: () => {
        const socket = net.connect({ host, port });
        socket.setNoDelay(true);
        return socket;
      },
      settings: { initialWindowSize: 4 * 1024 * 1024 },
    });
    session.on('error', () => {
      // each stream reports its own failure; a dead session is dropped on 'close'
    });
    session.on('close', () => {
      if (this.session === session) this.session = undefined;
    });
    session.on('goaway', () => {
      if (this.session === session) this.session = undefined;
    });
    session.on('connect', () => {
      if (!session.destroyed) session.setLocalWindowSize(8 * 1024 * 1024);
    });
    this.session = session;
    return session;
  }

  private ensureSweeper(): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => {
      const now = performance.now();
      for (const call of this.pending) {
        if (call.deadline <= now) call.fail(new GrpcCallError(4, 'deadline exceeded (client side)'));
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
      let session = this.session;
      if (!session || session.closed || session.destroyed) session = this.connect();
      let stream: http2.ClientHttp2Stream;
      try {
        stream = session.request(
          {
            ':method': 'POST',
            ':path': path,
            'content-type': 'application/grpc',
            te: 'trailers',
            'grpc-timeout': `${Math.max(1, Math.ceil(timeoutMs))}m`,
          },
          { endStream: false },
        );
      } catch (e) {
        if (this.session === session) this.session = undefined;
        reject(new GrpcCallError(-1, `cannot start a stream to ${this.endpoint}: ${(e as Error).message}`));
        return;
      }
      let done = false;
      const chunks: Buffer[] = [];
      let status: number | undefined;
      let statusMessage = '';
      const call: PendingCall = {
        stream,
        deadline: performance.now() + timeoutMs,
        fail: (err) => {
          if (done) return;
          done = true;
          this.pending.delete(call);
          if (!stream.closed) stream.close(http2.constants.NGHTTP2_CANCEL);
          reject(err);
        },
      };
      this.pending.add(call);
      this.ensureSweeper();
      const takeStatus = (h: http2.IncomingHttpHeaders) => {
        const s = h['grpc-status'];
        if (s !== undefined) {
          status = Number(s);
          const m = h['grpc-message'];
          statusMessage = typeof m === 'string' ? percentDecode(m) : '';
        }
      };
      stream.on('response', (headers) => {
        const httpStatus = headers[':status'];
        if (httpStatus !== 200) {
          call.fail(new GrpcCallError(-1, `HTTP status ${httpStatus} from ${this.endpoint}`));
          return;
        }
        takeStatus(headers);
      });
      stream.on('trailers', takeStatus);
      stream.on('data', (d: Buffer) => chunks.push(d));
      stream.on('error', (e: Error) => call.fail(new GrpcCallError(-1, `${this.endpoint}: ${e.message}`)));
      stream.on('close', () => {
        if (done) return;
        if (status === undefined) {
          call.fail(new GrpcCallError(-1, `${this.endpoint}: stream closed without a gRPC status (rst code ${stream.rstCode})`));
          return;
        }
        if (status !== 0) {
          call.fail(new GrpcCallError(status, statusMessage || GRPC_STATUS[status] || `status ${status}`));
          return;
        }
        const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
        if (body.length < 5) {
          call.fail(new GrpcCallError(13, `${this.endpoint}: response without a message`));
          return;
        }
        if (body[0] !== 0) {
          call.fail(new GrpcCallError(13, `${this.endpoint}: compressed responses are not supported`));
          return;
        }
        const len = body.readUInt32BE(1);
        done = true;
        this.pending.delete(call);
        resolve(body.subarray(5, 5 + len));
      });
      const frame = Buffer.allocUnsafe(5 + message.length);
      frame[0] = 0;
      frame.writeUInt32BE(message.length, 1);
      frame.set(message, 5);
      stream.end(frame);
    });
  }

  /** close fails every pending call and closes the session. */
  close(): void {
    this.closed = true;
    for (const call of [...this.pending]) call.fail(new GrpcCallError(1, 'channel closed'));
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    const s = this.session;
    this.session = undefined;
    if (s && !s.destroyed) s.destroy();
  }
}
