// ValueSpill: where the keyspace may put the values of revisions that are no
// longer any key's head, so that a long history does not stay in the heap
// (a 256-byte value is a 272-byte string the collector keeps moving and
// marking; a spilled one is a number). The keyspace decides what to spill and
// when; a spill only stores bytes and hands them back unchanged. Spilling is
// an optimisation that may be refused at any time (put returns undefined and
// the value stays in memory), so what a read returns never depends on it.
// This module holds the contract, the reference format and the
// implementations that keep everything in memory; the file-backed one, which
// does I/O, lives in replica/storage/value-spill.ts. Nothing here may do I/O.
import { Buffer } from 'node:buffer';

/**
 * ValueSpill stores latin1 strings (every char < 256) and returns them by
 * reference. References are numbers made by spillRef; a reference stays
 * readable until dropped, or until retireAll, and in both cases for as long
 * as a hold taken before is not released (a snapshot encoder may still be
 * reading what the keyspace has let go).
 */
export interface ValueSpill {
  /** put stores `value` and returns its reference, or undefined to leave it in memory. */
  put(value: string): number | undefined;
  /** get returns the value stored under `ref`; a reference never stored or already released throws. */
  get(ref: number): string;
  /**
   * copyInto writes the latin1 bytes of the value stored under `ref` into
   * `into` from `at` (which must have spilledLength(ref) bytes of room there)
   * without making a string of them: a snapshot encode copies every old
   * value. Throws as get does.
   */
  copyInto(ref: number, into: Uint8Array, at: number): void;
  /** drop says the keyspace no longer refers to `ref` (its revision was compacted away). */
  drop(ref: number): void;
  /** retireAll says the keyspace no longer refers to any reference handed out so far (a restore replaced it). */
  retireAll(): void;
  /** hold keeps every reference readable until the returned release is called (at most once counts). */
  hold(): () => void;
}

/** MAX_SPILLED_LENGTH: longer values are never spilled (the length has 21 bits in a reference). */
export const MAX_SPILLED_LENGTH = 2 ** 21 - 1;
/** MAX_SPILL_POSITION: positions have 32 bits in a reference. */
export const MAX_SPILL_POSITION = 2 ** 32 - 1;

/**
 * spillRef packs a stored value's position (an offset in the spill's own
 * address space) and length into one safe integer: position × 2^21 + length,
 * so the keyspace learns a spilled value's length without asking the spill.
 */
export function spillRef(position: number, length: number): number {
  if (!Number.isSafeInteger(position) || position < 0 || position > MAX_SPILL_POSITION) throw new Error(`value spill: position ${position} out of range`);
  if (!Number.isSafeInteger(length) || length < 0 || length > MAX_SPILLED_LENGTH) throw new Error(`value spill: length ${length} out of range`);
  return position * 2 ** 21 + length;
}

/** spilledLength is the length of the value stored under `ref`. */
export function spilledLength(ref: number): number {
  return ref % 2 ** 21;
}

/** spilledPosition is the position of the value stored under `ref`. */
export function spilledPosition(ref: number): number {
  return Math.floor(ref / 2 ** 21);
}

/** KEEP_IN_MEMORY refuses every value: the keyspace keeps its whole history in the heap. */
export const KEEP_IN_MEMORY: ValueSpill = {
  put: () => undefined,
  get: (ref) => {
    throw new Error(`value spill: reference ${ref} was never stored (this keyspace spills nothing)`);
  },
  copyInto: (ref) => {
    throw new Error(`value spill: reference ${ref} was never stored (this keyspace spills nothing)`);
  },
  drop: () => {},
  retireAll: () => {},
  hold: () => () => {},
};

/**
 * MemorySpill keeps spilled values in a map and checks the contract: it
 * throws on reading a reference that was released (dropped or retired, with
 * no hold left that was taken before), so tests of the keyspace and the
 * snapshot encoder catch a value read after it was let go.
 */
export class MemorySpill implements ValueSpill {
  private readonly values = new Map<number, string>();
  private next = 0;
  private holds = 0;
  /** references let go while a hold was open, freed once none is */
  private pending: number[] = [];
  /** every reference handed out and not yet let go */
  private readonly live = new Set<number>();
  puts = 0;

  put(value: string): number | undefined {
    if (value.length > MAX_SPILLED_LENGTH) return undefined;
    const ref = spillRef(this.next, value.length);
    this.next += value.length + 1;
    this.values.set(ref, value);
    this.live.add(ref);
    this.puts++;
    return ref;
  }

  get(ref: number): string {
    const v = this.values.get(ref);
    if (v === undefined) throw new Error(`value spill: reference ${ref} is not held (dropped, retired or never stored)`);
    return v;
  }

  copyInto(ref: number, into: Uint8Array, at: number): void {
    Buffer.from(into.buffer, into.byteOffset, into.byteLength).write(this.get(ref), at, 'latin1');
  }

  drop(ref: number): void {
    if (!this.live.delete(ref)) throw new Error(`value spill: reference ${ref} dropped twice or never stored`);
    this.letGo(ref);
  }

  retireAll(): void {
    for (const ref of this.live) this.letGo(ref);
    this.live.clear();
  }

  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holds === 0) {
        for (const ref of this.pending) this.values.delete(ref);
        this.pending = [];
      }
    };
  }

  /** size is how many values are readable now. */
  get size(): number {
    return this.values.size;
  }

  /** referenced is how many values the keyspace still refers to. */
  get referenced(): number {
    return this.live.size;
  }

  private letGo(ref: number): void {
    if (this.holds > 0) this.pending.push(ref);
    else this.values.delete(ref);
  }
}
