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
  /** the pieces of a message that came in several chunks (none while it came whole) */
  #chunks: Buffer[] | undefined;
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
        let compressed: boolean;
        let length: number;
        if (this.#have === 0 && chunk.length - off >= 5) {
          // the whole prefix in this chunk: read in place
          compressed = chunk[off] !== 0;
          length = chunk.readUInt32BE(off + 1);
          off += 5;
        } else {
          this.#prefix ??= Buffer.alloc(5);
          const n = Math.min(5 - this.#have, chunk.length - off);
          chunk.copy(this.#prefix, this.#have, off, off + n);
          off += n;
          this.#have += n;
          if (this.#have < 5) return undefined;
          compressed = this.#prefix[0] !== 0;
          length = this.#prefix.readUInt32BE(1);
        }
        if (compressed) return { kind: 'compressed' };
        if (length > this.#limit) return { kind: 'tooLarge', length };
        this.#length = length;
        this.#have = 0;
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
        (this.#chunks ??= []).push(piece);
        this.#have += take;
        if (this.#have === this.#length) {
          this.#message = Buffer.concat(this.#chunks, this.#length);
          this.#chunks = undefined;
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
  // read by hand: every call may carry one, and a regular expression's match allocates
  if (typeof header !== 'string' || header.length < 2 || header.length > 9) return undefined;
  const unit = TIMEOUT_UNIT_MS[header[header.length - 1]];
  if (unit === undefined) return undefined;
  let value = 0;
  for (let i = 0; i < header.length - 1; i++) {
    const digit = header.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return undefined;
    value = value * 10 + digit;
  }
  return value * unit;
}
