// One member's outgoing stream to one peer: it dials the peer's URL, opens the
// Stream RPC, waits for the peer's acknowledgement, then writes frames cut from
// a bounded queue, one frame in flight at a time, so that everything queued
// meanwhile goes into the next frame. When the stream fails it drops what is
// queued, reports the peer unreachable and redials after an exponential backoff.
// A redial refused at the TCP level (ECONNREFUSED: the host answers, nothing
// listens) after an established stream broke is reported apart, as evidence
// that the peer's process is gone; a reset, a timeout or an unresolvable name
// never is.
// Frames go out on our own gRPC client (replica/grpc/client.ts): what is
// queued during one run of the event loop's current callback leaves as one
// frame (or several, cut at the target size) right after it; once the
// connection holds a frame's worth unsent, the link waits for it to drain and
// what is queued meanwhile goes into the next frame.
// It must never send on a stream the peer opened (direction rule), never write
// while the call asks us to wait for its drain, never queue past its bounds,
// and never call back after close().
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { GrpcChannel, type ClientCall } from '../grpc/client.ts';
import type { KeepaliveOptions } from '../grpc/h2/connection.ts';
import type { Message, NodeId } from '../raft/types.ts';
import { batchEntrySize, type Frame } from './batch-codec.ts';
import { Backoff, type BackoffOptions } from './backoff.ts';
import { OutboundQueue, type QueueLimits } from './outbound-queue.ts';
import { fitToFrame } from './oversize.ts';
import type { PeerAddress } from './peer-url.ts';
import { callHeaders, raftCodecs, type PeerDial, type StreamAck } from './service.ts';
import { newLinkCounters, type LinkCounters, type LinkState, type LinkStats } from './stats.ts';

export interface PeerLinkOptions {
  self: NodeId;
  clusterId: string;
  peer: NodeId;
  address: PeerAddress;
  limits: QueueLimits;
  backoff: BackoffOptions;
  /** How long a new stream may wait for the peer's acknowledgement. */
  connectTimeoutMs: number;
  /** HTTP/2 keepalive of the link's connection */
  keepalive: KeepaliveOptions;
  /** largest message accepted from the peer */
  maxReceiveBytes: number;
  /** TLS settings for each new connection (asked at every dial) */
  dial(): PeerDial;
  /**
   * explain finds out more about why a connection could not be made (a
   * server that refused our certificate often just hangs up).
   */
  explain?: () => Promise<string | undefined>;
  logger: Logger;
  onUnreachable(): void;
  /**
   * onRefused: after an established stream to the peer broke, a redial was
   * refused (ECONNREFUSED). Called once per refused redial until a stream is
   * established again.
   */
  onRefused?(): void;
}

/**
 * isConnectionRefused tells whether a failed call's gRPC status says the TCP
 * connection itself was refused. A dial that could not connect ends its call
 * UNAVAILABLE with the socket error in the details ("connect ECONNREFUSED
 * 127.0.0.1:2380"; grpc-js words it "No connection established. Last error:
 * Error: connect ECONNREFUSED ..."); refused.test.ts pins it.
 */
export function isConnectionRefused(code: grpc.status | undefined, details: string): boolean {
  return code === grpc.status.UNAVAILABLE && /\bECONNREFUSED\b/.test(details);
}

export class PeerLink {
  readonly peer: NodeId;
  readonly address: PeerAddress;
  readonly counters: LinkCounters = newLinkCounters();
  readonly #o: PeerLinkOptions;
  readonly #queue: OutboundQueue;
  readonly #backoff: Backoff;
  readonly #log: Logger;
  #state: LinkState = 'connecting';
  #channel: GrpcChannel | undefined;
  #call: ClientCall<Frame, StreamAck> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #needDrain = false;
  #flushQueued = false;
  #lastOverflowReport = -Infinity;
  #lastOversizeLog = -Infinity;
  #lastRefusal = { reason: '', at: -Infinity };
  #lastExplain = -Infinity;
  /** an established stream broke and none has been established since: a refused redial now means the peer's process is gone */
  #brokeSinceConnected = false;

  constructor(o: PeerLinkOptions) {
    this.#o = o;
    this.peer = o.peer;
    this.address = o.address;
    this.#queue = new OutboundQueue(o.limits);
    this.#backoff = new Backoff(o.backoff);
    this.#log = o.logger.child({ peer: o.peer, peerUrl: o.address.url });
    this.#dial();
  }

  get state(): LinkState {
    return this.#state;
  }

  stats(): LinkStats {
    return { ...this.counters, url: this.address.url, state: this.#state, queuedMessages: this.#queue.length, queuedBytes: this.#queue.bytes };
  }

  /** enqueue queues `m` (encoded body size `size`) for the next frame; drops and counts when it cannot. */
  enqueue(m: Message, size: number): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'backoff') {
      // The peer is known unreachable and raft has been told; a backlog would only be stale on reconnect.
      this.counters.droppedUnreachable++;
      return;
    }
    if (batchEntrySize(size) <= this.#queue.limits.maxFrameBytes) {
      // The common case: the message fits in a frame as it is.
      if (!this.#queue.push(m, size)) {
        this.counters.droppedOverflow++;
        this.#reportOverflow();
      }
      return;
    }
    const fitted = fitToFrame(m, size, this.#queue.limits.maxFrameBytes);
    if (fitted.truncated) {
      this.counters.droppedOversize++;
      const now = performance.now();
      if (now - this.#lastOversizeLog >= 1000) {
        this.#lastOversizeLog = now;
        this.#log.error(
          { type: m.type, bytes: size, maxFrameBytes: this.#queue.limits.maxFrameBytes },
          'raft message too large for one peer frame was dropped (in part); raise the frame limit above the largest entry',
        );
      }
    }
    for (let i = 0; i < fitted.messages.length; i++) {
      if (!this.#queue.push(fitted.messages[i], fitted.sizes[i])) {
        this.counters.droppedOverflow++;
        this.#reportOverflow();
      }
    }
  }

  /** flush writes what is queued once the current callback is done (so that every send() of it shares the frame). */
  flush(): void {
    if (this.#flushQueued || this.#state !== 'connected' || this.#needDrain) return;
    this.#flushQueued = true;
    process.nextTick(() => {
      this.#flushQueued = false;
      this.#flushNow();
    });
  }

  /** flushNow writes what is queued, frame by frame, while the stream is up and its connection keeps up. */
  #flushNow(): void {
    if (this.#state !== 'connected') return;
    const call = this.#call!;
    while (!this.#needDrain) {
      const frame = this.#queue.takeFrame();
      if (frame === undefined) return;
      let bytes = 0;
      for (const s of frame.sizes) bytes += batchEntrySize(s);
      if (!call.write(frame)) this.#needDrain = true;
      if (call.done) return;
      this.counters.framesSent++;
      this.counters.messagesSent += frame.messages.length;
      this.counters.bytesSent += bytes;
    }
  }

  /** close tears the link down; no callback fires afterwards. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    clearTimeout(this.#timer);
    this.#teardown();
    this.#queue.clear();
  }

  #dial(): void {
    const { address, connectTimeoutMs } = this.#o;
    this.#state = 'connecting';
    this.#needDrain = false;
    let channel: GrpcChannel;
    try {
      channel = new GrpcChannel({
        host: address.host,
        port: address.port,
        tls: this.#o.dial().tls,
        keepalive: this.#o.keepalive,
        maxReceiveBytes: this.#o.maxReceiveBytes,
        highWaterBytes: this.#queue.limits.targetFrameBytes,
      });
    } catch (err) {
      // bad TLS material (a reload in progress): fail this attempt, retry after the backoff
      queueMicrotask(() => this.#failAttempt(`cannot dial: ${(err as Error).message}`));
      return;
    }
    const call = channel.call(raftCodecs().stream, callHeaders(this.#o.self, this.#o.clusterId));
    this.#channel = channel;
    this.#call = call;
    this.#timer = setTimeout(() => this.#fail(call, `no acknowledgement within ${connectTimeoutMs} ms`), connectTimeoutMs);
    call.onMessage = (ack) => this.#onAck(call, ack);
    call.onDrain = () => {
      if (call !== this.#call) return;
      this.#needDrain = false;
      this.#flushNow();
    };
    call.onStatus = (code, details) => {
      if (code === grpc.status.OK) this.#fail(call, 'stream closed by the peer');
      else this.#fail(call, details, code);
    };
  }

  /** failAttempt fails a dial that got no call at all. */
  #failAttempt(reason: string): void {
    if (this.#state !== 'connecting' || this.#call !== undefined) return;
    this.#fail(undefined, reason, grpc.status.UNAVAILABLE);
  }

  #onAck(call: ClientCall<Frame, StreamAck>, ack: StreamAck): void {
    if (call !== this.#call || this.#state !== 'connecting') return;
    if ((ack.memberId ?? 0) !== this.peer) {
      this.#fail(call, `${this.address.url} is served by member ${ack.memberId}, not by member ${this.peer}`);
      return;
    }
    clearTimeout(this.#timer);
    const after = this.#backoff.failures;
    this.#backoff.reset();
    this.#brokeSinceConnected = false;
    this.#state = 'connected';
    this.counters.connects++;
    this.#log.info({ failedAttempts: after }, after > 0 ? 'peer stream re-established' : 'peer stream established');
    this.flush();
  }

  #fail(call: ClientCall<Frame, StreamAck> | undefined, reason: string, code?: grpc.status): void {
    if (call !== this.#call || this.#state === 'closed') return;
    clearTimeout(this.#timer);
    const wasConnected = this.#state === 'connected';
    const refusedAfterBreak = !wasConnected && this.#brokeSinceConnected && isConnectionRefused(code, reason);
    if (wasConnected) this.#brokeSinceConnected = true;
    this.#teardown();
    this.counters.droppedUnreachable += this.#queue.clear();
    this.counters.connectFailures++;
    this.#state = 'backoff';
    const delay = this.#backoff.next();
    const fields = { reason, code, attempt: this.#backoff.failures, retryInMs: Math.round(delay) };
    const refusal = code === grpc.status.FAILED_PRECONDITION || code === grpc.status.INVALID_ARGUMENT || code === grpc.status.PERMISSION_DENIED || code === grpc.status.UNAUTHENTICATED;
    const now = performance.now();
    if (refusal) {
      // A refusal repeats on every redial: say it again only when it changes or every 30 s.
      if (reason !== this.#lastRefusal.reason || now - this.#lastRefusal.at > 30_000) {
        this.#lastRefusal = { reason, at: now };
        this.#log.error(fields, 'peer refused our stream');
      }
    } else if (wasConnected || this.#backoff.failures === 1) this.#log.warn(fields, 'peer stream failed; peer reported unreachable');
    else this.#log.debug(fields, 'peer still unreachable');
    if (code === grpc.status.UNAVAILABLE && this.#o.explain && now - this.#lastExplain > 30_000) {
      this.#lastExplain = now;
      this.#o.explain().then(
        (why) => {
          if (why !== undefined && this.#state !== 'closed') this.#log.error({ reason: why }, 'cannot connect to peer');
        },
        () => undefined,
      );
    }
    this.#timer = setTimeout(() => {
      if (this.#state === 'backoff') this.#dial();
    }, delay);
    this.#o.onUnreachable();
    if (refusedAfterBreak && this.#state === 'backoff') {
      this.counters.refusedAfterBreak++;
      if (this.#backoff.failures <= 2) this.#log.info({ reason }, 'peer address refused the connection after its stream broke: its process is gone');
      this.#o.onRefused?.();
    }
  }

  #teardown(): void {
    const call = this.#call;
    const channel = this.#channel;
    this.#call = undefined;
    this.#channel = undefined;
    this.#needDrain = false;
    if (call) {
      call.onMessage = undefined;
      call.onDrain = undefined;
      call.onStatus = undefined;
      call.cancel();
    }
    channel?.close();
  }

  #reportOverflow(): void {
    const now = performance.now();
    if (now - this.#lastOverflowReport < 1000) return;
    this.#lastOverflowReport = now;
    this.#log.warn({ queuedMessages: this.#queue.length, queuedBytes: this.#queue.bytes }, 'peer queue full; dropping messages and reporting peer unreachable');
    this.#o.onUnreachable();
  }
}
