// A lean gRPC client for streaming calls on our own HTTP/2 code (h2/): one
// connection (plaintext h2c with prior knowledge, or TLS with ALPN h2), calls
// opened on it with their metadata, messages written and read in order, and
// one status at the end: the server's trailers, or UNAVAILABLE with the
// socket's own error ("connect ECONNREFUSED ...", a TLS refusal) when the
// connection failed first. It carries a member's raft streams and snapshot
// uploads to its peers in place of grpc-js (docs/benchmarks.md, item 26).
// It must never report a status twice or a message after the status, never
// let the server's bytes throw out of a socket callback, and never write on a
// call after it ended.
import net from 'node:net';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { frameMessage } from './framing.ts';
import { bareHost } from './host.ts';
import { H2Connection, type H2Stream, type KeepaliveOptions } from './h2/connection.ts';
import { encodeHeaderBlock, type HeaderField } from './h2/hpack.ts';
import { MessageSplitter, describeFrameProblem } from './message-splitter.ts';
import { IdTable } from '../util/id-table.ts';

const Status = grpc.status;

export interface ChannelOptions {
  host: string;
  port: number;
  /** TLS options (ca, cert, key, checkServerIdentity...); absent: plaintext. ALPN h2 is added. */
  tls?: tls.ConnectionOptions;
  /** PING after this long without a byte from the server; close when one goes unanswered (see H2ConnectionOptions) */
  keepalive?: KeepaliveOptions;
  /** largest message accepted from the server */
  maxReceiveBytes: number;
  /** a call's write() says "wait" once this much is queued unsent on the connection */
  highWaterBytes?: number;
}

/** MethodCodec is how one method's messages are written and read. */
export interface MethodCodec<Req, Res> {
  path: string;
  serialize(value: Req): Uint8Array;
  deserialize(bytes: Buffer): Res;
}

const DEFAULT_HIGH_WATER = 1 << 20;

/** GrpcChannel is one client connection; calls share it. */
export class GrpcChannel {
  readonly #o: ChannelOptions;
  readonly #socket: net.Socket;
  readonly #conn: H2Connection;
  readonly #authority: string;
  readonly #scheme: string;
  /** open calls by stream id (an IdTable, not a Set: see ../util/id-table.ts) */
  readonly #calls = new IdTable<ClientCall<unknown, unknown>>();
  /** why the connection failed, for the status of the calls it takes down */
  #error: string | undefined;

  constructor(o: ChannelOptions) {
    this.#o = o;
    const host = bareHost(o.host);
    this.#authority = `${host.includes(':') ? `[${host}]` : host}:${o.port}`;
    this.#scheme = o.tls ? 'https' : 'http';
    this.#socket = o.tls ? tls.connect({ ...o.tls, host, port: o.port, ALPNProtocols: ['h2'] }) : net.connect({ host, port: o.port });
    this.#socket.setNoDelay(true);
    if (o.tls) {
      (this.#socket as tls.TLSSocket).once('secureConnect', () => {
        const alpn = (this.#socket as tls.TLSSocket).alpnProtocol;
        if (alpn !== 'h2') this.#fail(`the server negotiated ${JSON.stringify(alpn)}, not h2`);
      });
    }
    this.#conn = new H2Connection(this.#socket, {
      role: 'client',
      keepalive: o.keepalive,
      onWritable: () => {
        for (const c of this.#calls.valuesNow()) c.drained();
      },
      // socket errors ("connect ECONNREFUSED ...", TLS refusals) and protocol errors alike
      onError: (err) => {
        this.#error ??= err.message;
      },
    });
  }

  /** writableLength is what waits unsent on the connection (queued frames and the socket's buffer). */
  get writableLength(): number {
    return this.#conn.writableLength;
  }

  /** highWater is where write() starts saying "wait". */
  get highWater(): number {
    return this.#o.highWaterBytes ?? DEFAULT_HIGH_WATER;
  }

  /** call opens a streaming call to `codec.path` with `metadata` (lowercase names); its status arrives on onStatus. */
  call<Req, Res>(codec: MethodCodec<Req, Res>, metadata: HeaderField[]): ClientCall<Req, Res> {
    const block = encodeHeaderBlock([
      [':method', 'POST'],
      [':scheme', this.#scheme],
      [':path', codec.path],
      [':authority', this.#authority],
      ['content-type', 'application/grpc'],
      ['te', 'trailers'],
      ...metadata,
    ]);
    // undefined once the connection is closing or closed
    const stream = this.#conn.request(block);
    const call = new ClientCall<Req, Res>(this, stream, codec, this.#o.maxReceiveBytes);
    if (stream === undefined) {
      // reported on the next turn, as every status is, after the caller set its callbacks
      queueMicrotask(() => call.ended(Status.UNAVAILABLE, this.#error ?? 'the connection is closed'));
      return call;
    }
    this.#calls.set(stream.id, call as ClientCall<unknown, unknown>);
    return call;
  }

  /** open: new calls can still be made on this connection (it is neither closing nor closed). */
  get open(): boolean {
    return this.#conn.canRequest;
  }

  /** failure is why the connection failed, if it did. */
  get failure(): string | undefined {
    return this.#error;
  }

  /** forget drops an ended call (by its stream's id; a call that never had a stream was never held). */
  forget(streamId: number | undefined): void {
    if (streamId !== undefined) this.#calls.delete(streamId);
  }

  /** close drops the connection at once; open calls end UNAVAILABLE (or CANCELLED where cancelled). */
  close(): void {
    this.#conn.destroy();
  }

  #fail(reason: string): void {
    this.#error ??= reason;
    this.#conn.destroy();
  }
}

/** ClientCall is one call: write() messages, end() the request side, hear messages and the status. */
export class ClientCall<Req, Res> {
  /** onMessage hears each response message, in order */
  onMessage: ((value: Res) => void) | undefined;
  /** onStatus hears once how the call ended (details: grpc-message, or the connection's error) */
  onStatus: ((code: grpc.status, details: string) => void) | undefined;
  /** onDrain hears that write() may go on after it returned false */
  onDrain: (() => void) | undefined;
  readonly #channel: GrpcChannel;
  readonly #stream: H2Stream | undefined;
  readonly #codec: MethodCodec<Req, Res>;
  readonly #splitter: MessageSplitter;
  #done = false;
  #waiting = false;

  constructor(channel: GrpcChannel, stream: H2Stream | undefined, codec: MethodCodec<Req, Res>, maxReceiveBytes: number) {
    this.#channel = channel;
    this.#stream = stream;
    this.#codec = codec;
    this.#splitter = new MessageSplitter(maxReceiveBytes);
    if (stream === undefined) return;
    stream.onHeaders = () => {
      const status = stream.headers[':status'];
      const type = stream.headers['content-type'];
      if (status !== '200') return this.#abort(Status.UNKNOWN, `the server answered HTTP status ${String(status)}`);
      if (stream.trailers === undefined && (typeof type !== 'string' || !type.startsWith('application/grpc'))) {
        this.#abort(Status.UNKNOWN, `the server answered content-type ${JSON.stringify(type)}, not gRPC`);
      }
    };
    stream.onData = (chunk) => {
      if (this.#done) return;
      const problem = this.#splitter.push(chunk, (bytes) => this.#onMessageBytes(bytes));
      if (problem && !this.#done) this.#abort(problem.kind === 'compressed' ? Status.UNIMPLEMENTED : Status.RESOURCE_EXHAUSTED, describeFrameProblem(problem));
    };
    stream.onEnd = () => {
      const t = stream.trailers ?? {};
      const raw = t['grpc-status'];
      const code = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : Status.UNKNOWN;
      const message = t['grpc-message'];
      const details = typeof message === 'string' ? percentDecode(message) : raw === undefined ? 'the server ended the call without a status' : '';
      this.ended(code, details);
    };
    stream.onClose = () => {
      // closed before the trailers: reset by the server, or the connection went away
      this.ended(Status.UNAVAILABLE, channel.failure ?? 'the server closed the stream');
    };
    stream.onDrain = () => this.drained();
  }

  /** done: the status was reported (or the call was cancelled); nothing more happens. */
  get done(): boolean {
    return this.#done;
  }

  /**
   * write sends one message. It returns false when the caller should wait for
   * onDrain before the next (the message itself was taken), and also once
   * the call is over (the message was dropped).
   */
  write(value: Req): boolean {
    const stream = this.#stream;
    if (this.#done || stream === undefined) return false;
    stream.write(frameMessage(this.#codec.serialize(value)));
    if (stream.pendingBytes > 0 || this.#channel.writableLength >= this.#channel.highWater) {
      this.#waiting = true;
      return false;
    }
    return true;
  }

  /** end sends the end of the request side; the status follows from the server. */
  end(): void {
    if (!this.#done) this.#stream?.end();
  }

  /** cancel resets the call; onStatus hears CANCELLED unless the status came first. */
  cancel(): void {
    if (this.#done) return;
    // the status first: the reset closes the stream, and its onClose must not report UNAVAILABLE
    this.ended(Status.CANCELLED, 'cancelled by the client');
    this.#stream?.reset();
  }

  drained(): void {
    if (!this.#waiting || this.#done) return;
    const stream = this.#stream;
    if (stream === undefined || stream.pendingBytes > 0 || this.#channel.writableLength >= this.#channel.highWater) return;
    this.#waiting = false;
    this.onDrain?.();
  }

  ended(code: grpc.status, details: string): void {
    if (this.#done) return;
    this.#done = true;
    this.#channel.forget(this.#stream?.id);
    this.onStatus?.(code, details);
  }

  #onMessageBytes(bytes: Buffer): void {
    if (this.#done) return;
    let value: Res;
    try {
      value = this.#codec.deserialize(bytes);
    } catch (err) {
      return this.#abort(Status.INTERNAL, `cannot decode the server's message: ${(err as Error).message}`);
    }
    this.onMessage?.(value);
  }

  #abort(code: grpc.status, details: string): void {
    if (this.#done) return;
    this.ended(code, details);
    this.#stream?.reset();
  }
}

/** percentDecode undoes grpc-message's percent-encoding (invalid escapes are kept as they are). */
export function percentDecode(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
