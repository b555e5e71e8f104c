// One call of a client-streaming or bidirectional method on the lean server:
// the request messages as they arrive (each one admitted again by the hooks,
// so access withdrawn mid-stream takes effect at the next message), the
// answer's messages as the handler sends them, and one status at the end.
// It serves the peer port's raft streams and snapshot uploads in place of
// grpc-js's ServerDuplexStream (docs/benchmarks.md, item 26).
// It must never hand the handler a message after the call ended, never send
// after the status, never let a handler's exception escape into the
// connection, and never buffer a request message past the size limit.
import * as grpc from '@grpc/grpc-js';
import { UnaryCall } from './call.ts';
import { frameMessage, timeoutMs } from './framing.ts';
import type { H2Stream } from './h2/connection.ts';
import { MessageSplitter, describeFrameProblem } from './message-splitter.ts';
import { responseHeaders, sendStatus, statusTrailers } from './responses.ts';
import type { GrpcServerOptions, MethodInfo } from './server.ts';

const Status = grpc.status;

/** StreamingMethod is what the server knows of a registered streaming method. */
export interface StreamingMethod extends MethodInfo {
  readonly deserialize: (bytes: Buffer) => unknown;
  readonly serialize: (value: unknown) => Buffer;
}

/** StreamingHandler takes a call and sets its callbacks (before it returns: messages may follow at once). */
export type StreamingHandler = (call: StreamCall) => void;

/** StreamCall is a streaming call as its handler sees it: UnaryCall's metadata, peer and certificate, plus messages both ways. */
export class StreamCall extends UnaryCall {
  /** onMessage hears each request message, decoded, in order */
  onMessage: ((message: unknown) => void) | undefined;
  /** onEnd hears that the client sent its last message (the handler then finishes the call) */
  onEnd: (() => void) | undefined;
  /** onCancel hears that the call ended without a status from us: reset by the client, refused by the hooks, or its connection gone */
  onCancel: (() => void) | undefined;
  readonly #stream: H2Stream;
  readonly #method: StreamingMethod;
  readonly #options: GrpcServerOptions;
  readonly #splitter: MessageSplitter;
  readonly #started = performance.now();
  #headersSent = false;
  #done = false;

  constructor(options: GrpcServerOptions, method: StreamingMethod, stream: H2Stream) {
    const timeout = timeoutMs(stream.headers['grpc-timeout']);
    super(stream.socket, stream.headers, method.path, timeout === undefined ? Infinity : Date.now() + timeout);
    this.#stream = stream;
    this.#method = method;
    this.#options = options;
    this.#splitter = new MessageSplitter(options.maxReceiveBytes);
  }

  /** done: the status was sent or the call was cancelled; nothing more is sent or heard. */
  get done(): boolean {
    return this.#done;
  }

  /** start admits the call, hands it to the handler and starts reading. */
  start(handler: StreamingHandler): void {
    const stream = this.#stream;
    stream.onClose = () => this.#onClose();
    const refusal = this.#options.hooks?.admit?.(this, this.#method);
    if (refusal) return this.#refuse(refusal.code, refusal.details);
    try {
      handler(this);
    } catch (err) {
      this.#options.onError?.(err, `handler ${this.#method.path}`);
      return this.finish(Status.UNKNOWN, `Server method handler threw error ${(err as Error)?.message ?? String(err)}`);
    }
    stream.onData = (chunk) => {
      if (this.#done) return;
      const problem = this.#splitter.push(chunk, (bytes) => this.#onMessageBytes(bytes));
      if (problem && !this.#done) {
        const code = problem.kind === 'compressed' ? Status.UNIMPLEMENTED : Status.RESOURCE_EXHAUSTED;
        this.#refuse(code, `${this.#method.path}: ${describeFrameProblem(problem)}`);
      }
    };
    stream.onEnd = () => {
      if (this.#done) return;
      if (this.#splitter.partial) return this.#refuse(Status.INTERNAL, `${this.#method.path}: the request ended inside a message`);
      this.#run(() => this.onEnd?.());
    };
  }

  /** send sends one response message (the response headers go first); false once the call is over. */
  send(value: unknown): boolean {
    if (this.#done) return false;
    let frame: Buffer;
    try {
      frame = frameMessage(this.#method.serialize(value));
    } catch (err) {
      this.finish(Status.INTERNAL, `Error serializing response: ${(err as Error).message}`);
      return false;
    }
    if (!this.#headersSent) {
      this.#headersSent = true;
      if (!this.#stream.startResponse(responseHeaders(this.responseMetadata))) return false;
    }
    this.#stream.write(frame);
    return true;
  }

  /** finish ends the call with a status (after any messages sent); later calls do nothing. */
  finish(code: grpc.status, details = '', metadata?: grpc.Metadata): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#headersSent) this.#stream.end(statusTrailers(code, details, metadata));
    else sendStatus(this.#stream, code, details, metadata, this.responseMetadata);
    this.#options.hooks?.finished?.(this.#method, code, this.#started);
  }

  #onMessageBytes(bytes: Buffer): void {
    if (this.#done) return;
    const refusal = this.#options.hooks?.admit?.(this, this.#method);
    if (refusal) return this.#refuse(refusal.code, refusal.details);
    let value: unknown;
    try {
      value = this.#method.deserialize(bytes);
    } catch (err) {
      return this.#refuse(Status.INTERNAL, `Error deserializing request: ${(err as Error).message}`);
    }
    this.#run(() => this.onMessage?.(value));
  }

  /** refuse ends the call with a status the handler did not choose; the handler hears onCancel. */
  #refuse(code: grpc.status, details: string): void {
    if (this.#done) return;
    this.finish(code, details);
    this.cancelled = true;
    this.#run(() => this.onCancel?.());
  }

  #run(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#options.onError?.(err, `handler ${this.#method.path}`);
      this.finish(Status.UNKNOWN, `Server method handler threw error ${(err as Error)?.message ?? String(err)}`);
    }
  }

  #onClose(): void {
    // an unanswered stream the client reset counts as a call in progress until released: nothing more will answer it
    this.#stream.release();
    if (this.#done) return;
    this.#done = true;
    this.cancelled = true;
    this.#options.hooks?.finished?.(this.#method, Status.CANCELLED, this.#started);
    this.#run(() => this.onCancel?.());
  }
}
