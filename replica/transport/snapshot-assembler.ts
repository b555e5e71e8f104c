// Reassembles one snapshot upload from its chunks, in order, into a single
// buffer, checking the declared size against a bound and the CRC-32 once
// complete. The buffer grows with the bytes that actually arrive (doubling,
// up to the declared size), so a sender that declares a huge snapshot and
// sends little costs little. The result is the 'snap' message with its data
// filled in.
// It must never allocate more than the bound (nor much more than twice what
// arrived), accept a chunk out of order or past the declared end, or hand out
// a snapshot whose bytes it has not verified.
import * as grpc from '@grpc/grpc-js';
import { crc32 } from 'node:zlib';
import type { Message } from '../raft/types.ts';
import { PeerError } from './errors.ts';

/** Chunk is a decoded SnapshotChunk (message already converted, first chunk only). */
export interface Chunk {
  message?: Message;
  totalBytes: number;
  crc32: number;
  offset: number;
  data: Uint8Array;
}

export class SnapshotAssembler {
  readonly maxSnapshotBytes: number;
  #message: Message | undefined;
  #buf: Uint8Array = new Uint8Array(0);
  #total = 0;
  #received = 0;
  #crc = 0;

  constructor(maxSnapshotBytes: number) {
    this.maxSnapshotBytes = maxSnapshotBytes;
  }

  /** received is the number of data bytes accepted so far. */
  get received(): number {
    return this.#received;
  }

  /** message is the 'snap' message from the first chunk, once seen. */
  get message(): Message | undefined {
    return this.#message;
  }

  /** accept takes the next chunk; throws PeerError when it breaks the upload's rules. */
  accept(chunk: Chunk): void {
    if (this.#message === undefined) {
      const m = chunk.message;
      if (m === undefined) throw new PeerError(grpc.status.INVALID_ARGUMENT, 'first snapshot chunk must carry the snap message');
      if (m.type !== 'snap' || m.snapshot === undefined) {
        throw new PeerError(grpc.status.INVALID_ARGUMENT, `first snapshot chunk carries a ${m.type} message without a snapshot; expected snap`);
      }
      if (!Number.isSafeInteger(chunk.totalBytes) || chunk.totalBytes < 0) {
        throw new PeerError(grpc.status.INVALID_ARGUMENT, `invalid snapshot size ${chunk.totalBytes}`);
      }
      if (chunk.totalBytes > this.maxSnapshotBytes) {
        throw new PeerError(
          grpc.status.RESOURCE_EXHAUSTED,
          `snapshot of ${chunk.totalBytes} bytes exceeds this member's limit of ${this.maxSnapshotBytes} bytes`,
        );
      }
      this.#message = m;
      this.#crc = chunk.crc32;
      this.#total = chunk.totalBytes;
    } else if (chunk.message !== undefined) {
      throw new PeerError(grpc.status.INVALID_ARGUMENT, 'only the first snapshot chunk may carry the snap message');
    }
    if (chunk.offset !== this.#received) {
      throw new PeerError(grpc.status.INVALID_ARGUMENT, `snapshot chunk at offset ${chunk.offset}, expected ${this.#received}`);
    }
    const end = this.#received + chunk.data.length;
    if (end > this.#total) {
      throw new PeerError(grpc.status.INVALID_ARGUMENT, `snapshot chunk runs to ${end} bytes, past the declared ${this.#total}`);
    }
    if (end > this.#buf.length) {
      const grown = new Uint8Array(Math.min(this.#total, Math.max(end, 2 * this.#buf.length, 64 * 1024)));
      grown.set(this.#buf.subarray(0, this.#received));
      this.#buf = grown;
    }
    this.#buf.set(chunk.data, this.#received);
    this.#received = end;
  }

  /** finish verifies the upload is complete and intact and returns the 'snap' message with its data. */
  finish(): Message {
    if (this.#message === undefined) throw new PeerError(grpc.status.INVALID_ARGUMENT, 'snapshot upload ended before its first chunk');
    if (this.#received !== this.#total) {
      throw new PeerError(grpc.status.INVALID_ARGUMENT, `snapshot upload ended after ${this.#received} of ${this.#total} bytes`);
    }
    // Exactly full: the buffer only ever grows to the declared size.
    const buf = this.#buf.length === this.#total ? this.#buf : this.#buf.slice(0, this.#total);
    const got = crc32(buf);
    if (got !== this.#crc) {
      throw new PeerError(grpc.status.DATA_LOSS, `snapshot CRC-32 mismatch: got ${got.toString(16)}, sender declared ${this.#crc.toString(16)}`);
    }
    const m = this.#message;
    return { ...m, snapshot: { metadata: m.snapshot!.metadata, data: buf } };
  }
}
