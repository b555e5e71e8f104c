// Linearizable reads by ReadIndex (Raft thesis §6.4): the leader records its
// commit index for a read, confirms it is still leader with a heartbeat round
// acknowledged by a quorum, then the read may be served once that index is
// applied. Must never answer a read before the quorum confirmation.
import type { Message, NodeId } from './types.ts';

export interface ReadIndexStatus {
  req: Message;
  index: number;
  acks: Map<NodeId, boolean>;
}

/** ctxKey turns a request context into a map key (contexts are opaque bytes). */
export function ctxKey(ctx: Uint8Array | undefined): string {
  if (!ctx) return '';
  let s = '';
  for (let i = 0; i < ctx.length; i++) s += String.fromCharCode(ctx[i]);
  return s;
}

export class ReadOnly {
  private pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  /** addRequest records a read at commit index `index`; a duplicate context is ignored. */
  addRequest(index: number, m: Message): void {
    const key = ctxKey(m.context);
    if (this.pending.has(key)) return;
    this.pending.set(key, { index, req: m, acks: new Map() });
    this.queue.push(key);
  }

  /** recvAck records a heartbeat acknowledgement carrying `context`; returns the acks so far. */
  recvAck(id: NodeId, context: Uint8Array | undefined): Map<NodeId, boolean> | undefined {
    const rs = this.pending.get(ctxKey(context));
    if (!rs) return undefined;
    rs.acks.set(id, true);
    return rs.acks;
  }

  /**
   * advance releases the read with `context` and every read queued before it
   * (a quorum acknowledging a later heartbeat confirms the earlier ones too).
   */
  advance(context: Uint8Array | undefined): ReadIndexStatus[] {
    const key = ctxKey(context);
    const i = this.queue.indexOf(key);
    if (i < 0) return [];
    const released = this.queue.slice(0, i + 1).map((k) => this.pending.get(k)!);
    for (const k of this.queue.slice(0, i + 1)) this.pending.delete(k);
    this.queue = this.queue.slice(i + 1);
    return released;
  }

  /** lastPendingRequestCtx is the context to piggyback on the next heartbeat round. */
  lastPendingRequestCtx(): Uint8Array | undefined {
    if (this.queue.length === 0) return undefined;
    return this.pending.get(this.queue[this.queue.length - 1])!.req.context;
  }

  get size(): number {
    return this.queue.length;
  }
}
