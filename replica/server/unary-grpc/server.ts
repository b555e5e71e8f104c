// A lean gRPC server for unary methods on node:http2 (the 'stream' API),
// serving the same grpc-js ServiceDefinitions and handler objects as a
// grpc-js Server: POST with content-type application/grpc*, one
// length-prefixed request message bounded before it is buffered, the answer
// as headers + message + trailers (errors as trailers-only responses), on
// plaintext (h2c prior knowledge) or TLS (ALPN h2) listeners whose
// certificates follow TlsFiles. Streaming methods, unknown methods and
// compressed messages answer UNIMPLEMENTED. Per-call hooks admit a call before
// its message is read and hear how each call ended.
// It must never answer a call before its handler's callback, never let a
// peer's bytes, resets or disconnects throw out of an event handler, and never
// serve a TLS listener without TLS.
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { serverContextOptions, type ClientCertMode, type TlsFiles } from '../tls/index.ts';
import { UnaryCall } from './call.ts';
import { RequestReader, frameMessage, percentEncode, timeoutMs, type ReadProblem } from './framing.ts';

const Status = grpc.status;
const { NGHTTP2_NO_ERROR } = http2.constants;

/** MethodInfo names a registered method for hooks (`name` is "Service.Method", e.g. "KV.Put"). */
export interface MethodInfo {
  readonly path: string;
  readonly name: string;
}

interface Method extends MethodInfo {
  readonly handler: grpc.handleUnaryCall<unknown, unknown> | undefined;
  readonly unary: boolean;
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
  /** admit runs on a registered method's headers, before the message is read; a refusal ends the call with that status. */
  admit?(call: UnaryCall, method: MethodInfo): CallRefusal | undefined;
  /** finished hears once how each call of a registered method ended (CANCELLED when the client went away first). */
  finished?(method: MethodInfo, code: grpc.status, startedMs: number): void;
}

export interface UnaryGrpcServerOptions {
  /** maxReceiveBytes bounds one request message; larger ones get RESOURCE_EXHAUSTED unread. */
  maxReceiveBytes: number;
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

type Http2Listener = http2.Http2Server | http2.Http2SecureServer;

/** UnaryGrpcServer serves grpc-js service definitions' unary methods on one or more listeners. */
export class UnaryGrpcServer {
  readonly #methods = new Map<string, Method>();
  readonly #options: UnaryGrpcServerOptions;
  readonly #listeners: Http2Listener[] = [];
  readonly #sessions = new Set<http2.ServerHttp2Session>();
  readonly #unsubscribe: (() => void)[] = [];
  #shutdown = false;

  constructor(options: UnaryGrpcServerOptions) {
    if (!Number.isSafeInteger(options.maxReceiveBytes) || options.maxReceiveBytes < 0) {
      throw new Error(`unary gRPC server: maxReceiveBytes must be a non-negative integer, got ${options.maxReceiveBytes}`);
    }
    this.#options = options;
  }

  /**
   * addService registers a grpc-js service definition with its handlers (looked
   * up by method name, then by originalName, as grpc-js does). A declared
   * method without a handler, or a streaming one, answers UNIMPLEMENTED.
   */
  addService(service: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void {
    for (const [name, def] of Object.entries(service)) {
      if (this.#methods.has(def.path)) throw new Error(`unary gRPC server: ${def.path} is already registered`);
      const impl = (implementation[name] ?? (def.originalName ? implementation[def.originalName] : undefined)) as grpc.handleUnaryCall<unknown, unknown> | undefined;
      const unary = !def.requestStream && !def.responseStream;
      if (impl !== undefined && typeof impl !== 'function') throw new Error(`unary gRPC server: the handler of ${def.path} is not a function`);
      this.#methods.set(def.path, {
        path: def.path,
        name: def.path.slice(def.path.lastIndexOf('.') + 1).replace('/', '.'),
        handler: impl,
        unary,
        deserialize: def.requestDeserialize as (bytes: Buffer) => unknown,
        serialize: def.responseSerialize as (value: unknown) => Buffer,
      });
    }
  }

  /** listen opens one listener and resolves its bound port. */
  async listen(o: ListenOptions): Promise<number> {
    if (this.#shutdown) throw new Error('unary gRPC server: listen after shutdown');
    // grpc-js lifts node's 10 MB per-session memory bound the same way, so busy connections are not refused with ENHANCE_YOUR_CALM.
    const common = { maxSessionMemory: Number.MAX_SAFE_INTEGER };
    let listener: Http2Listener;
    if (o.tls) {
      const { files, clientCertMode: mode } = o.tls;
      if (mode !== 'none' && !files.material.ca) throw new Error('client certificates need a trusted CA file');
      const secure = http2.createSecureServer({
        ...common,
        ...serverContextOptions(files.material, mode),
        requestCert: mode !== 'none',
        rejectUnauthorized: mode === 'require',
        minVersion: 'TLSv1.2',
        ALPNProtocols: ['h2'],
        allowHTTP1: false,
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
      listener = secure;
    } else {
      listener = http2.createServer(common);
    }
    listener.on('session', (session: http2.ServerHttp2Session) => this.#onSession(session));
    listener.on('sessionError', (err: Error) => this.#options.onError?.(err, 'http2 session'));
    listener.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => this.#onStream(stream, headers));
    const host = o.host.startsWith('[') ? o.host.slice(1, -1) : o.host;
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
      ...[...this.#sessions].map((s) => new Promise<void>((resolve) => (s.closed || s.destroyed ? resolve() : s.close(() => resolve())))),
      ...this.#listeners.map((l) => new Promise<void>((resolve) => (l.listening ? l.close(() => resolve()) : resolve()))),
    ]);
  }

  /** forceShutdown closes every listener and connection now; calls in flight are cancelled. */
  forceShutdown(): void {
    this.#stopListening();
    for (const s of this.#sessions) s.destroy();
    this.#sessions.clear();
    for (const l of this.#listeners) if (l.listening) l.close();
  }

  #stopListening(): void {
    this.#shutdown = true;
    for (const u of this.#unsubscribe.splice(0)) u();
  }

  #onSession(session: http2.ServerHttp2Session): void {
    if (this.#shutdown) {
      session.destroy();
      return;
    }
    this.#sessions.add(session);
    session.on('error', (err) => this.#options.onError?.(err, 'http2 session'));
    session.on('close', () => this.#sessions.delete(session));
  }

  #onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    stream.on('error', ignoreStreamError);
    if (headers[':method'] !== 'POST') {
      refuseHttp(stream, 405);
      return;
    }
    const contentType = headers['content-type'];
    if (typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) {
      refuseHttp(stream, 415);
      return;
    }
    const path = headers[':path'] ?? '';
    const method = this.#methods.get(path);
    if (method === undefined) {
      // Unknown paths are not reported to hooks: a peer's made-up names must not become metric labels.
      sendStatus(stream, Status.UNIMPLEMENTED, `The server does not implement the method ${path}`);
      return;
    }
    new CallRun(this.#options, method, stream, headers).start();
  }
}

/** CallRun drives one call of a registered method from its headers to its status. */
class CallRun {
  readonly #options: UnaryGrpcServerOptions;
  readonly #method: Method;
  readonly #stream: http2.ServerHttp2Stream;
  readonly #call: UnaryCall;
  readonly #started = performance.now();
  #reader: RequestReader | undefined;
  /** done: the status has been sent (or the client went away); nothing more happens. */
  #done = false;
  /** running: the handler has the call. */
  #running = false;

  constructor(options: UnaryGrpcServerOptions, method: Method, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) {
    this.#options = options;
    this.#method = method;
    this.#stream = stream;
    const timeout = timeoutMs(headers['grpc-timeout']);
    this.#call = new UnaryCall(stream, headers, method.path, timeout === undefined ? Infinity : Date.now() + timeout);
  }

  start(): void {
    const stream = this.#stream;
    const method = this.#method;
    stream.on('close', () => this.#onClose());
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
    stream.on('data', (chunk: Buffer) => this.#onData(chunk));
    stream.on('end', () => this.#onEnd());
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
    if (this.#done) return;
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
    if (stream.destroyed || stream.closed) {
      // the client went away while the handler ran, and 'close' has not been emitted yet
      this.#call.cancelled = true;
      this.#options.hooks?.finished?.(this.#method, Status.CANCELLED, this.#started);
      return;
    }
    const call = this.#call;
    try {
      stream.respond(responseHeaders(call.responseMetadata), { waitForTrailers: true });
      stream.once('wantTrailers', () => {
        try {
          const trailers: http2.OutgoingHttpHeaders = { 'grpc-status': '0' };
          if (trailer) Object.assign(trailers, trailer.toHttp2Headers());
          stream.sendTrailers(trailers);
        } catch {
          // the stream went away between the message and its trailers: the client sees a reset
        }
      });
      stream.end(frame);
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
    this.#call.cancelled = true;
    this.#options.hooks?.finished?.(this.#method, Status.CANCELLED, this.#started);
  }
}

function ignoreStreamError(): void {
  // A stream error (reset, protocol error, closed connection) ends the stream;
  // its 'close' handler sees to the call. Without a listener it would throw.
}

/** refuseHttp answers a request that is not gRPC with a plain HTTP status, as the gRPC spec asks. */
function refuseHttp(stream: http2.ServerHttp2Stream, status: number): void {
  try {
    if (!stream.destroyed && !stream.headersSent) stream.respond({ ':status': status }, { endStream: true });
    if (!stream.readableEnded) stream.close(NGHTTP2_NO_ERROR);
  } catch {
    // the peer went away first
  }
}

/**
 * sendStatus sends a trailers-only response (headers carrying grpc-status and
 * grpc-message, END_STREAM), then stops the request side with RST_STREAM
 * NO_ERROR if the client is still sending, so nothing more is read.
 */
function sendStatus(stream: http2.ServerHttp2Stream, code: grpc.status, details: string, metadata?: grpc.Metadata, responseMetadata?: grpc.Metadata): void {
  try {
    if (stream.destroyed || stream.closed || stream.headersSent) return;
    const headers = responseHeaders(responseMetadata);
    if (metadata) Object.assign(headers, metadata.toHttp2Headers());
    headers['grpc-status'] = String(code);
    headers['grpc-message'] = percentEncode(details);
    stream.respond(headers, { endStream: true });
    if (!stream.readableEnded) stream.close(NGHTTP2_NO_ERROR);
  } catch {
    // the peer went away first
  }
}

/** responseHeaders are a gRPC response's headers: status 200, the content type, and the metadata the handler sent. */
function responseHeaders(responseMetadata: grpc.Metadata | undefined): http2.OutgoingHttpHeaders {
  const headers: http2.OutgoingHttpHeaders = { ':status': 200, 'content-type': 'application/grpc' };
  if (responseMetadata) Object.assign(headers, responseMetadata.toHttp2Headers());
  return headers;
}
