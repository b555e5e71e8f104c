// A lean gRPC server on our own HTTP/2 connection code (h2/), serving the
// same grpc-js ServiceDefinitions and unary handler objects as a grpc-js
// Server: POST with content-type application/grpc*, one length-prefixed
// request message bounded before it is buffered, the answer as headers +
// message + trailers (errors as trailers-only responses), on plaintext (h2c
// prior knowledge) or TLS (ALPN h2) listeners whose certificates follow
// TlsFiles. Client-streaming and bidirectional methods are served by lean
// streaming handlers (stream-call.ts) where the caller registers them;
// other streaming methods, unknown methods and compressed messages answer
// UNIMPLEMENTED. Per-call hooks admit a call before its message is read (a
// streaming call again before each message) and hear how each call ended.
// It must never answer a call before its handler's callback, never let a
// peer's bytes, resets or disconnects throw out of an event handler, and never
// serve a TLS listener without TLS.
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { serverContextOptions, type ClientCertMode, type TlsFiles } from '../server/tls/index.ts';
import { UnaryCall } from './call.ts';
import { bareHost } from './host.ts';
import { RequestReader, frameMessage, timeoutMs, type ReadProblem } from './framing.ts';
import { H2Connection, PREFACE_TIMEOUT_MS, type H2Stream, type KeepaliveOptions } from './h2/connection.ts';
import { OK_TRAILERS, refuseHttp, responseHeaders, sendStatus, statusTrailers } from './responses.ts';
import { StreamCall, type StreamingHandler } from './stream-call.ts';

const Status = grpc.status;

/** MethodInfo names a registered method for hooks (`name` is "Service.Method", e.g. "KV.Put"). */
export interface MethodInfo {
  readonly path: string;
  readonly name: string;
}

interface Method extends MethodInfo {
  readonly handler: grpc.handleUnaryCall<unknown, unknown> | undefined;
  readonly unary: boolean;
  /** streaming: the lean handler of a client-streaming or bidirectional method */
  readonly streaming: StreamingHandler | undefined;
  readonly deserialize: (bytes: Buffer) => unknown;
  readonly serialize: (value: unknown) => Buffer;
}

/** Refusal is the status a call is refused with before its handler runs. */
export interface CallRefusal {
  code: grpc.status;
  details: string;
}

/** CallHooks replace grpc-js interceptors: an admission check and an end-of-call report. */
export interface CallHooks {
  /** admit runs on a registered method's headers, before the message is read (a streaming call's: again before each message); a refusal ends the call with that status. */
  admit?(call: UnaryCall, method: MethodInfo): CallRefusal | undefined;
  /** finished hears once how each call of a registered method ended (CANCELLED when the client went away first). */
  finished?(method: MethodInfo, code: grpc.status, startedMs: number): void;
}

export interface GrpcServerOptions {
  /** maxReceiveBytes bounds one request message; larger ones get RESOURCE_EXHAUSTED unread. */
  maxReceiveBytes: number;
  /** keepalive pings to silent connections (absent: none); see H2ConnectionOptions.keepalive */
  keepalive?: KeepaliveOptions;
  hooks?: CallHooks;
  /**
   * onError hears, for logging (never thrown): handler exceptions (where
   * "handler <path>"), certificates node refused on reload ("tls reload"), and
   * routine connection trouble (anything else: resets, handshakes, sessions).
   */
  onError?: (err: unknown, where: string) => void;
}

/** ListenOptions is one listener: plaintext h2c, or TLS with certificates following `tls.files`. */
export interface ListenOptions {
  host: string;
  port: number;
  tls?: { files: TlsFiles; clientCertMode: ClientCertMode };
}

/** GrpcServer serves grpc-js service definitions (unary methods, and streaming ones with lean handlers) on one or more listeners. */
export class GrpcServer {
  readonly #methods = new Map<string, Method>();
  readonly #options: GrpcServerOptions;
  readonly #listeners: net.Server[] = [];
  readonly #connections = new Set<H2Connection>();
  readonly #unsubscribe: (() => void)[] = [];
  #shutdown = false;

  constructor(options: GrpcServerOptions) {
    if (!Number.isSafeInteger(options.maxReceiveBytes) || options.maxReceiveBytes < 0) {
      throw new Error(`gRPC server: maxReceiveBytes must be a non-negative integer, got ${options.maxReceiveBytes}`);
    }
    this.#options = options;
  }

  /**
   * addService registers a grpc-js service definition with its unary handlers
   * (looked up by method name, then by originalName, as grpc-js does) and the
   * lean handlers of its client-streaming and bidirectional methods (by
   * method name). A declared method without a handler, or a server-streaming
   * one, answers UNIMPLEMENTED.
   */
  addService(service: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation, streaming: Record<string, StreamingHandler> = {}): void {
    for (const [name, def] of Object.entries(service)) {
      if (this.#methods.has(def.path)) throw new Error(`gRPC server: ${def.path} is already registered`);
      const impl = (implementation[name] ?? (def.originalName ? implementation[def.originalName] : undefined)) as grpc.handleUnaryCall<unknown, unknown> | undefined;
      const unary = !def.requestStream && !def.responseStream;
      if (impl !== undefined && typeof impl !== 'function') throw new Error(`gRPC server: the handler of ${def.path} is not a function`);
      const lean = Object.hasOwn(streaming, name) ? streaming[name] : undefined;
      if (lean !== undefined && (typeof lean !== 'function' || !def.requestStream)) throw new Error(`gRPC server: ${def.path} is not a client-streaming or bidirectional method with a handler function`);
      this.#methods.set(def.path, {
        path: def.path,
        name: def.path.slice(def.path.lastIndexOf('.') + 1).replace('/', '.'),
        handler: impl,
        unary,
        streaming: lean,
        deserialize: def.requestDeserialize as (bytes: Buffer) => unknown,
        serialize: def.responseSerialize as (value: unknown) => Buffer,
      });
    }
  }

  /** listen opens one listener and resolves its bound port. */
  async listen(o: ListenOptions): Promise<number> {
    if (this.#shutdown) throw new Error('gRPC server: listen after shutdown');
    let listener: net.Server;
    if (o.tls) {
      const { files, clientCertMode: mode } = o.tls;
      if (mode !== 'none' && !files.material.ca) throw new Error('client certificates need a trusted CA file');
      const secure = tls.createServer({
        ...serverContextOptions(files.material, mode),
        requestCert: mode !== 'none',
        rejectUnauthorized: mode === 'require',
        minVersion: 'TLSv1.2',
        ALPNProtocols: ['h2'],
        // a handshake gets as long as the HTTP/2 preface after it (node's default is 120 s)
        handshakeTimeout: PREFACE_TIMEOUT_MS,
      });
      // Certificates follow the files: new connections get the new ones; established ones stay up.
      this.#unsubscribe.push(
        files.onChange((m) => {
          try {
            secure.setSecureContext(serverContextOptions(m, mode));
          } catch (err) {
            // TlsFiles validated the set; if node still refuses it, the listener keeps the previous one.
            this.#options.onError?.(err, 'tls reload');
          }
        }),
      );
      secure.on('tlsClientError', (err) => this.#options.onError?.(err, 'tls handshake'));
      secure.on('secureConnection', (socket: tls.TLSSocket) => {
        // HTTP/2 only (no HTTP/1 fallback): a client that did not negotiate h2 is not served
        if (socket.alpnProtocol !== 'h2') {
          this.#options.onError?.(new Error(`TLS client negotiated ${JSON.stringify(socket.alpnProtocol)}, not h2`), 'http2 session');
          socket.destroy();
          return;
        }
        this.#onConnection(socket);
      });
      listener = secure;
    } else {
      listener = net.createServer((socket) => this.#onConnection(socket));
    }
    const host = bareHost(o.host);
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      listener.once('error', onError);
      listener.listen(o.port, host, () => {
        listener.off('error', onError);
        resolve();
      });
    });
    listener.on('error', (err: Error) => this.#options.onError?.(err, 'listener'));
    this.#listeners.push(listener);
    return (listener.address() as AddressInfo).port;
  }

  /** tryShutdown stops accepting connections, lets calls in flight finish (GOAWAY), and resolves when every connection closed. */
  async tryShutdown(): Promise<void> {
    this.#stopListening();
    await Promise.all([
      ...[...this.#connections].map((c) => c.close()),
      ...this.#listeners.map((l) => new Promise<void>((resolve) => (l.listening ? l.close(() => resolve()) : resolve()))),
    ]);
  }

  /** forceShutdown closes every listener and connection now; calls in flight are cancelled. */
  forceShutdown(): void {
    this.#stopListening();
    for (const c of this.#connections) c.destroy();
    this.#connections.clear();
    for (const l of this.#listeners) if (l.listening) l.close();
  }

  #stopListening(): void {
    this.#shutdown = true;
    for (const u of this.#unsubscribe.splice(0)) u();
  }

  #onConnection(socket: net.Socket): void {
    if (this.#shutdown) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const conn = new H2Connection(socket, {
      keepalive: this.#options.keepalive,
      onStream: (stream) => this.#onStream(stream),
      onError: (err) => this.#options.onError?.(err, 'http2 session'),
    });
    this.#connections.add(conn);
    socket.once('close', () => this.#connections.delete(conn));
  }

  #onStream(stream: H2Stream): void {
    const headers = stream.headers;
    if (headers[':method'] !== 'POST') {
      refuseHttp(stream, 405);
      return;
    }
    const contentType = headers['content-type'];
    if (typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) {
      refuseHttp(stream, 415);
      return;
    }
    const path = headers[':path'];
    const method = typeof path === 'string' ? this.#methods.get(path) : undefined;
    if (method === undefined) {
      // Unknown paths are not reported to hooks: a peer's made-up names must not become metric labels.
      sendStatus(stream, Status.UNIMPLEMENTED, `The server does not implement the method ${String(path ?? '')}`);
      return;
    }
    if (method.streaming) {
      new StreamCall(this.#options, method, stream).start(method.streaming);
      return;
    }
    new CallRun(this.#options, method, stream).start();
  }
}

/** CallRun drives one call of a registered method from its headers to its status. */
class CallRun {
  readonly #options: GrpcServerOptions;
  readonly #method: Method;
  readonly #stream: H2Stream;
  readonly #call: UnaryCall;
  readonly #started = performance.now();
  #reader: RequestReader | undefined;
  /** done: the status has been sent (or the client went away); nothing more happens. */
  #done = false;
  /** running: the handler has the call. */
  #running = false;

  constructor(options: GrpcServerOptions, method: Method, stream: H2Stream) {
    this.#options = options;
    this.#method = method;
    this.#stream = stream;
    const timeout = timeoutMs(stream.headers['grpc-timeout']);
    this.#call = new UnaryCall(stream.socket, stream.headers, method.path, timeout === undefined ? Infinity : Date.now() + timeout);
  }

  start(): void {
    const stream = this.#stream;
    const method = this.#method;
    stream.onClose = () => this.#onClose();
    if (!method.unary || method.handler === undefined) {
      this.#finish(Status.UNIMPLEMENTED, `The server does not implement the method ${method.path}`);
      return;
    }
    const refusal = this.#options.hooks?.admit?.(this.#call, method);
    if (refusal) {
      this.#finish(refusal.code, refusal.details);
      return;
    }
    this.#reader = new RequestReader(this.#options.maxReceiveBytes);
    stream.onData = (chunk) => this.#onData(chunk);
    stream.onEnd = () => this.#onEnd();
  }

  #onData(chunk: Buffer): void {
    if (this.#done) return;
    const problem = this.#reader!.push(chunk);
    if (problem) this.#refuse(problem);
  }

  #refuse(problem: ReadProblem): void {
    switch (problem.kind) {
      case 'compressed':
        return this.#finish(Status.UNIMPLEMENTED, `${this.#method.path}: compressed messages are not supported (send with grpc-encoding identity)`);
      case 'tooLarge':
        return this.#finish(Status.RESOURCE_EXHAUSTED, `Received message larger than max (${problem.length} vs ${this.#options.maxReceiveBytes})`);
      case 'secondMessage':
        return this.#finish(Status.UNIMPLEMENTED, `${this.#method.path} is unary: received more than one request message`);
    }
  }

  #onEnd(): void {
    if (this.#done || this.#running) return;
    const reader = this.#reader!;
    const message = reader.message;
    if (message === undefined) {
      if (reader.partial) this.#finish(Status.INTERNAL, `${this.#method.path}: the request ended inside a message`);
      else this.#finish(Status.UNIMPLEMENTED, `${this.#method.path} is unary: received no request message`);
      return;
    }
    const call = this.#call;
    try {
      call.request = this.#method.deserialize(message);
    } catch (err) {
      this.#finish(Status.INTERNAL, `Error deserializing request: ${(err as Error).message}`);
      return;
    }
    this.#running = true;
    try {
      this.#method.handler!(call as unknown as grpc.ServerUnaryCall<unknown, unknown>, (err, value, trailer) => this.#answer(err, value, trailer));
    } catch (err) {
      this.#options.onError?.(err, `handler ${this.#method.path}`);
      this.#finish(Status.UNKNOWN, `Server method handler threw error ${(err as Error)?.message ?? String(err)}`);
    }
  }

  /** answer is the handler's callback: the response or the error, once. */
  #answer(...[err, value, trailer]: Parameters<grpc.sendUnaryData<unknown>>): void {
    if (this.#done) {
      // answered already, or the client went away: a stream it reset stops counting as a call in progress
      this.#stream.release();
      return;
    }
    if (err) {
      const code = typeof err.code === 'number' ? err.code : Status.UNKNOWN;
      const details = err.details ?? (err as Error).message ?? 'Unknown Error';
      this.#finish(code, details, err.metadata ?? trailer);
      return;
    }
    let frame: Buffer;
    try {
      frame = frameMessage(this.#method.serialize(value));
    } catch (e) {
      this.#finish(Status.INTERNAL, `Error serializing response: ${(e as Error).message}`);
      return;
    }
    this.#done = true;
    const stream = this.#stream;
    if (stream.closed) {
      // the client went away while the handler ran (its stream closed before the handler answered)
      stream.release();
      this.#call.cancelled = true;
      this.#options.hooks?.finished?.(this.#method, Status.CANCELLED, this.#started);
      return;
    }
    try {
      stream.respond(responseHeaders(this.#call.responseMetadata), frame, trailer ? statusTrailers(Status.OK, '', trailer) : OK_TRAILERS);
    } catch (e) {
      this.#options.onError?.(e, this.#method.path);
    }
    this.#options.hooks?.finished?.(this.#method, Status.OK, this.#started);
  }

  /** finish ends the call with a non-OK status as a trailers-only response and stops reading the request. */
  #finish(code: grpc.status, details: string, metadata?: grpc.Metadata): void {
    if (this.#done) return;
    this.#done = true;
    sendStatus(this.#stream, code, details, metadata, this.#call.responseMetadata);
    this.#options.hooks?.finished?.(this.#method, code, this.#started);
  }

  #onClose(): void {
    if (this.#done) return;
    this.#done = true;
    // a handler still running answers later (and #answer releases the stream then)
    if (!this.#running) this.#stream.release();
    this.#call.cancelled = true;
    this.#options.hooks?.finished?.(this.#method, Status.CANCELLED, this.#started);
  }
}
