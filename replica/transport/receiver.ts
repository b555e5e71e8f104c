// The receiving half of the peer service: accepts Stream calls and snapshot
// uploads from other members, checks who is calling and from which cluster,
// and hands the raft messages to the host in the order each stream carried them.
// It must never send raft messages back on a caller's stream (only the single
// acknowledgement), never deliver a message addressed to another member, a
// local-only message, or one whose sender is not the calling member, and never
// let a host exception escape into the server.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { StreamCall, StreamingHandler } from '../grpc/index.ts';
import type { Message, NodeId } from '../raft/types.ts';
import { PeerError } from './errors.ts';
import { LOCAL_MESSAGE_TYPES } from './message-types.ts';
import { callerOf } from './service.ts';
import { SnapshotAssembler, type Chunk } from './snapshot-assembler.ts';
import type { ReceiveStats, SnapshotStats } from './stats.ts';

export interface ReceiverOptions {
  self: NodeId;
  clusterId: string;
  maxSnapshotBytes: number;
  logger: Logger;
  receive: ReceiveStats;
  snapshots: SnapshotStats;
  deliver(msgs: Message[]): void;
}

/** Receiver implements the Raft service handlers and tracks the calls it serves. */
export class Receiver {
  readonly #o: ReceiverOptions;
  readonly #log: Logger;
  readonly #streams = new Set<StreamCall>();
  /** The upload in progress from each member; a newer one from the same member supersedes it. */
  readonly #uploads = new Map<NodeId, (err: PeerError) => void>();

  constructor(o: ReceiverOptions) {
    this.#o = o;
    this.#log = o.logger;
  }

  /** handlers are the lean streaming handlers of the Raft service's two methods. */
  handlers(): Record<string, StreamingHandler> {
    return {
      Stream: (call) => this.#stream(call),
      SendSnapshot: (call) => this.#upload(call),
    };
  }

  /** inboundStreams is the number of Stream calls being served. */
  get inboundStreams(): number {
    return this.#streams.size;
  }

  #refuse(err: unknown, what: string, peer: string): PeerError {
    const e = err instanceof PeerError ? err : new PeerError(grpc.status.INVALID_ARGUMENT, String(err));
    this.#o.receive.callsRefused++;
    this.#log.warn({ peer, code: e.code, reason: e.message }, `refused peer ${what}`);
    return e;
  }

  /** #caller is the calling member per the call's metadata; a call claiming to come from this member itself is refused. */
  #caller(md: grpc.Metadata): NodeId {
    const from = callerOf(md, this.#o.clusterId);
    if (from === this.#o.self) throw new PeerError(grpc.status.FAILED_PRECONDITION, `peer call claims to come from this member (${from}) itself`);
    return from;
  }

  #stream(call: StreamCall): void {
    let from: NodeId;
    try {
      from = this.#caller(call.metadata);
    } catch (err) {
      const e = this.#refuse(err, 'stream', call.getPeer());
      call.finish(e.code, e.message);
      return;
    }
    this.#o.receive.streamsAccepted++;
    this.#streams.add(call);
    const log = this.#log.child({ peer: from });
    const warned = new Set<string>();
    const warnOnce = (kind: string, m: Message) => {
      if (warned.has(kind)) return;
      warned.add(kind);
      log.warn({ type: m.type, to: m.to, from: m.from }, `dropping peer messages: ${kind} (reported once per stream)`);
    };
    const forget = () => this.#streams.delete(call);
    call.onMessage = (value) => {
      const msgs = value as Message[];
      this.#o.receive.frames++;
      const accepted: Message[] = [];
      for (const m of msgs) {
        if (m.to !== this.#o.self) {
          this.#o.receive.droppedWrongTo++;
          warnOnce(`addressed to member ${m.to}, not to this member ${this.#o.self}`, m);
        } else if (m.from !== from) {
          this.#o.receive.droppedWrongFrom++;
          warnOnce(`claims sender ${m.from} on member ${from}'s stream`, m);
        } else if (LOCAL_MESSAGE_TYPES.has(m.type)) {
          this.#o.receive.droppedLocal++;
          warnOnce(`local-only type ${m.type} arrived from the network`, m);
        } else {
          accepted.push(m);
        }
      }
      this.#o.receive.messages += accepted.length;
      if (accepted.length > 0) this.#deliver(accepted, log);
    };
    call.onEnd = () => {
      forget();
      call.finish(grpc.status.OK);
    };
    call.onCancel = forget;
    call.send({ memberId: this.#o.self });
  }

  #upload(call: StreamCall): void {
    let settled = false;
    const settle = (err: PeerError | null, receivedBytes = 0) => {
      if (settled) return;
      settled = true;
      if (err) {
        this.#o.snapshots.receiveFailed++;
        call.finish(err.code, err.message);
      } else {
        call.send({ receivedBytes });
        call.finish(grpc.status.OK);
      }
    };
    let from: NodeId;
    try {
      from = this.#caller(call.metadata);
    } catch (err) {
      settle(this.#refuse(err, 'snapshot upload', call.getPeer()));
      return;
    }
    const log = this.#log.child({ peer: from });
    const abort = (err: PeerError) => {
      if (settled) return;
      log.warn({ code: err.code, reason: err.message }, 'snapshot upload failed');
      settle(err);
    };
    this.#uploads.get(from)?.(new PeerError(grpc.status.ABORTED, `superseded by a newer snapshot upload from member ${from}`));
    this.#uploads.set(from, abort);
    const done = () => {
      if (this.#uploads.get(from) === abort) this.#uploads.delete(from);
    };
    const assembler = new SnapshotAssembler(this.#o.maxSnapshotBytes);
    call.onMessage = (value) => {
      const chunk = value as Chunk;
      if (settled) return;
      this.#o.snapshots.chunksReceived++;
      try {
        const first = assembler.message === undefined;
        assembler.accept(chunk);
        if (first) {
          const m = assembler.message!;
          if (m.to !== this.#o.self) throw new PeerError(grpc.status.FAILED_PRECONDITION, `snapshot addressed to member ${m.to}, not to this member ${this.#o.self}`);
          if (m.from !== from) throw new PeerError(grpc.status.INVALID_ARGUMENT, `snapshot claims sender ${m.from} on member ${from}'s upload`);
          log.info({ bytes: chunk.totalBytes, index: m.snapshot!.metadata.index, term: m.snapshot!.metadata.term }, 'receiving snapshot');
        }
      } catch (err) {
        abort(err instanceof PeerError ? err : new PeerError(grpc.status.INVALID_ARGUMENT, String(err)));
        done();
      }
    };
    call.onEnd = () => {
      done();
      if (settled) return;
      let m: Message;
      try {
        m = assembler.finish();
      } catch (err) {
        abort(err instanceof PeerError ? err : new PeerError(grpc.status.INVALID_ARGUMENT, String(err)));
        return;
      }
      this.#o.snapshots.received++;
      log.info({ bytes: assembler.received, index: m.snapshot!.metadata.index }, 'snapshot received; handing it to raft');
      if (this.#deliver([m], log)) settle(null, assembler.received);
      else settle(new PeerError(grpc.status.INTERNAL, 'the receiving member failed to take the snapshot'));
    };
    call.onCancel = () => {
      done();
      settled = true;
    };
  }

  #deliver(msgs: Message[], log: Logger): boolean {
    try {
      this.#o.deliver(msgs);
      return true;
    } catch (err) {
      log.error({ err }, 'onMessages threw while taking peer messages; they are lost');
      return false;
    }
  }

  /** endAll cancels every inbound stream (used on close). */
  endAll(): void {
    for (const s of this.#streams) s.finish(grpc.status.OK);
    this.#streams.clear();
    for (const abort of this.#uploads.values()) abort(new PeerError(grpc.status.UNAVAILABLE, 'member is shutting down'));
    this.#uploads.clear();
  }
}
