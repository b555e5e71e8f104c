// The gRPC-over-HTTP/2 wire details of one unary call: the 5-byte
// length-prefixed message (reading one request with a size bound, writing one
// response), the percent-encoding of grpc-message, and the grpc-timeout
// header. Pure functions and one small accumulator; it must never touch a
// stream, and must never buffer more than the limit plus one frame's bytes.

/** ReadProblem says why the bytes received so far cannot be one valid unary request. */
export type ReadProblem =
  | { kind: 'compressed' }
  | { kind: 'tooLarge'; length: number }
  | { kind: 'secondMessage' };

/**
 * RequestReader collects the single length-prefixed request message of a
 * unary call from DATA chunks. It decides on the 5-byte prefix alone whether
 * the message is acceptable, so an oversized one is refused before its body
 * is buffered.
 */
export class RequestReader {
  readonly #limit: number;
  #prefix: Buffer | undefined;
  #chunks: Buffer[] = [];
  #have = 0;
  #length = -1;
  #message: Buffer | undefined;

  constructor(limit: number) {
    this.#limit = limit;
  }

  /** push adds a DATA chunk; it returns a problem once the input cannot be a valid unary request. */
  push(chunk: Buffer): ReadProblem | undefined {
    let off = 0;
    while (off < chunk.length) {
      if (this.#message !== undefined) return { kind: 'secondMessage' };
      if (this.#length < 0) {
        // reading the prefix
        if (this.#have === 0 && chunk.length - off >= 5) {
          this.#prefix = chunk.subarray(off, off + 5);
          off += 5;
          this.#have = 5;
        } else {
          this.#prefix ??= Buffer.alloc(5);
          const n = Math.min(5 - this.#have, chunk.length - off);
          chunk.copy(this.#prefix, this.#have, off, off + n);
          off += n;
          this.#have += n;
          if (this.#have < 5) return undefined;
        }
        const p = this.#prefix!;
        if (p[0] !== 0) return { kind: 'compressed' };
        const length = p.readUInt32BE(1);
        if (length > this.#limit) return { kind: 'tooLarge', length };
        this.#length = length;
        this.#have = 0;
        this.#chunks = [];
        if (length === 0) this.#message = Buffer.alloc(0);
        continue;
      }
      const want = this.#length - this.#have;
      const take = Math.min(want, chunk.length - off);
      const piece = chunk.subarray(off, off + take);
      off += take;
      if (take === this.#length) {
        this.#message = piece; // the whole message in one chunk: no copy
      } else {
        this.#chunks.push(piece);
        this.#have += take;
        if (this.#have === this.#length) {
          this.#message = Buffer.concat(this.#chunks, this.#length);
          this.#chunks = [];
        }
      }
    }
    return undefined;
  }

  /** message is the complete request, or undefined while none has arrived whole. */
  get message(): Buffer | undefined {
    return this.#message;
  }

  /** partial: some bytes of a message arrived but not all of it. */
  get partial(): boolean {
    return this.#message === undefined && (this.#have > 0 || this.#length >= 0);
  }
}

/** frameMessage prefixes an encoded message with the uncompressed flag and its length. */
export function frameMessage(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

/**
 * percentEncode encodes grpc-message as the protocol asks: UTF-8, with every
 * byte outside printable ASCII (0x20–0x7E) and '%' itself as %XX.
 */
export function percentEncode(message: string): string {
  let plain = true;
  for (let i = 0; i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) {
      plain = false;
      break;
    }
  }
  if (plain) return message;
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte < 0x20 || byte > 0x7e || byte === 0x25 ? `%${byte.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(byte);
  }
  return out;
}

const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/**
 * timeoutMs reads a grpc-timeout header ("1 to 8 digits, then H M S m u n");
 * undefined when absent or malformed (a malformed one is ignored, as grpc-js does).
 */
export function timeoutMs(header: string | string[] | undefined): number | undefined {
  if (typeof header !== 'string') return undefined;
  const m = /^(\d{1,8})([HMSmun])$/.exec(header);
  return m ? Number(m[1]) * TIMEOUT_UNIT_MS[m[2]] : undefined;
}
