// The bounded queue of messages waiting for one peer's stream, and the cutting
// of that queue into frames no larger than the frame limit. Everything queued
// while a frame is being written goes into the next frame, in order.
// It must never grow past its bounds (it refuses instead, and the caller counts
// the drop), never reorder messages, and never build a frame above the limit.
import type { Message } from '../raft/types.ts';
import { batchEntrySize, type Frame } from './batch-codec.ts';

/** QueueLimits bounds one peer's backlog and the frames cut from it. */
export interface QueueLimits {
  /** Most messages waiting at once. */
  maxMessages: number;
  /** Most encoded bytes waiting at once. */
  maxBytes: number;
  /** Largest MessageBatch frame; must admit any single message the caller pushes. */
  maxFrameBytes: number;
  /**
   * Where batching stops adding messages to a frame (at most maxFrameBytes). A
   * message larger than this still travels alone in one frame. Smaller frames
   * let the receiver decode one while the next is in transit.
   */
  targetFrameBytes: number;
}

export class OutboundQueue {
  readonly limits: QueueLimits;
  #messages: Message[] = [];
  #sizes: number[] = [];
  #head = 0;
  #bytes = 0;

  constructor(limits: QueueLimits) {
    if (!(limits.targetFrameBytes > 0 && limits.targetFrameBytes <= limits.maxFrameBytes)) {
      throw new Error(`targetFrameBytes (${limits.targetFrameBytes}) must be positive and at most maxFrameBytes (${limits.maxFrameBytes})`);
    }
    this.limits = limits;
  }

  /** length is the number of messages waiting. */
  get length(): number {
    return this.#messages.length - this.#head;
  }

  /** bytes is the encoded size of the messages waiting, as they would sit in frames. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * push queues `m`, whose encoded body size is `size`; false (and nothing queued)
   * when the queue is full, so the caller can count the drop.
   */
  push(m: Message, size: number): boolean {
    const cost = batchEntrySize(size);
    if (cost > this.limits.maxFrameBytes) {
      throw new Error(`message of ${cost} bytes exceeds the ${this.limits.maxFrameBytes}-byte frame limit; split it first`);
    }
    if (this.length >= this.limits.maxMessages || this.#bytes + cost > this.limits.maxBytes) return false;
    this.#messages.push(m);
    this.#sizes.push(size);
    this.#bytes += cost;
    return true;
  }

  /**
   * takeFrame removes and returns the longest prefix that fits in the target
   * frame size (or the first message alone when it is larger), or undefined when empty.
   */
  takeFrame(): Frame | undefined {
    if (this.length === 0) return undefined;
    const target = this.limits.targetFrameBytes;
    let end = this.#head;
    let frameBytes = 0;
    while (end < this.#messages.length) {
      const cost = batchEntrySize(this.#sizes[end]);
      if (end > this.#head && frameBytes + cost > target) break;
      frameBytes += cost;
      end++;
    }
    // Invariant: a frame holds at least one message and, since push refuses anything larger, stays within maxFrameBytes.
    if (end === this.#head || frameBytes > this.limits.maxFrameBytes) throw new Error('outbound queue invariant broken: bad frame cut');
    let frame: Frame;
    if (this.#head === 0 && end === this.#messages.length) {
      frame = { messages: this.#messages, sizes: this.#sizes };
      this.#messages = [];
      this.#sizes = [];
    } else {
      frame = { messages: this.#messages.slice(this.#head, end), sizes: this.#sizes.slice(this.#head, end) };
      this.#head = end;
      if (this.#head === this.#messages.length) {
        this.#messages = [];
        this.#sizes = [];
        this.#head = 0;
      } else if (this.#head > 1024 && this.#head * 2 > this.#messages.length) {
        this.#messages = this.#messages.slice(this.#head);
        this.#sizes = this.#sizes.slice(this.#head);
        this.#head = 0;
      }
    }
    this.#bytes -= frameBytes;
    return frame;
  }

  /** clear drops everything waiting and returns how many messages were dropped. */
  clear(): number {
    const n = this.length;
    this.#messages = [];
    this.#sizes = [];
    this.#head = 0;
    this.#bytes = 0;
    return n;
  }
}
