// The gRPC length-prefixed message framing of a streaming call on
// node:http2 (used by latency-bench.ts; ready for a node:http2 peer stream):
// cutting a byte stream (DATA chunks of any size) back into whole messages.
// The other direction, prefixing one message, is unary-grpc's frameMessage.
// Pure and synchronous; it must never touch a stream, never accept a
// compressed message (nothing here negotiates compression), and never buffer
// a message longer than its limit (it is refused on its 5-byte prefix).

/** FrameProblem says why the bytes cannot continue a valid message stream. */
export type FrameProblem = { kind: 'compressed' } | { kind: 'tooLarge'; length: number; limit: number };

/** describeFrameProblem is a one-line reason for logs and statuses. */
export function describeFrameProblem(p: FrameProblem): string {
  return p.kind === 'compressed'
    ? 'a compressed gRPC message arrived, but no compression was negotiated'
    : `a gRPC message of ${p.length} bytes exceeds the ${p.limit}-byte limit`;
}

/**
 * MessageSplitter turns the DATA chunks of one direction of a gRPC stream
 * into whole messages, in order. A message that arrives in one chunk is
 * handed out as a view of that chunk (no copy).
 */
export class MessageSplitter {
  readonly #limit: number;
  readonly #prefix = Buffer.alloc(5);
  #prefixHave = 0;
  #length = -1;
  #chunks: Buffer[] = [];
  #have = 0;
  #problem: FrameProblem | undefined;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** partial: some bytes of a message arrived but not all of it. */
  get partial(): boolean {
    return this.#prefixHave > 0 || this.#length >= 0;
  }

  /**
   * push adds a chunk and calls `onMessage` for every message it completes;
   * it returns a problem (and takes nothing more, ever) once the stream
   * cannot be valid.
   */
  push(chunk: Buffer, onMessage: (message: Buffer) => void): FrameProblem | undefined {
    if (this.#problem) return this.#problem;
    let off = 0;
    while (off < chunk.length) {
      if (this.#length < 0) {
        let p: Buffer;
        if (this.#prefixHave === 0 && chunk.length - off >= 5) {
          p = chunk.subarray(off, off + 5);
          off += 5;
        } else {
          const n = Math.min(5 - this.#prefixHave, chunk.length - off);
          chunk.copy(this.#prefix, this.#prefixHave, off, off + n);
          off += n;
          this.#prefixHave += n;
          if (this.#prefixHave < 5) return undefined;
          p = this.#prefix;
        }
        this.#prefixHave = 0;
        if (p[0] !== 0) return (this.#problem = { kind: 'compressed' });
        const length = p.readUInt32BE(1);
        if (length > this.#limit) return (this.#problem = { kind: 'tooLarge', length, limit: this.#limit });
        if (length === 0) {
          onMessage(Buffer.alloc(0));
          continue;
        }
        this.#length = length;
        this.#have = 0;
        continue;
      }
      const take = Math.min(this.#length - this.#have, chunk.length - off);
      const piece = chunk.subarray(off, off + take);
      off += take;
      if (take === this.#length) {
        this.#length = -1;
        onMessage(piece);
        continue;
      }
      this.#chunks.push(piece);
      this.#have += take;
      if (this.#have === this.#length) {
        const whole = Buffer.concat(this.#chunks, this.#length);
        this.#chunks = [];
        this.#length = -1;
        this.#have = 0;
        onMessage(whole);
      }
    }
    return undefined;
  }
}
