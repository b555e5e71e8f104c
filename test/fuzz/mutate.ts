// A small, seeded mutation fuzzer's engine: a reproducible PRNG and byte
// mutations in the style of AFL's havoc stage (bit flips, interesting
// values, inserts, deletes, truncation, duplicated and spliced runs, protobuf
// varint and length tweaks). Pure functions of (input, rng).
// It must never use Math.random: a failing input is reproduced from its seed.

/** Rng is a seeded generator (mulberry32); next() is uniform in [0, 1). */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0;
    let t = this.#s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** int is uniform in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

const INTERESTING_8 = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x10, 0x40, 0x20];
const INTERESTING_VARINTS = [
  [0x00],
  [0x7f],
  [0x80, 0x01],
  [0xff, 0xff, 0xff, 0xff, 0x0f],
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
  [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], // overlong
  [0xff, 0xff, 0xff, 0x7f], // about 2^28
];

/** mutate applies 1..maxEdits random edits to a copy of `input`; `donors` feed splices. */
export function mutate(input: Uint8Array, rng: Rng, donors: readonly Uint8Array[] = [], maxEdits = 6): Buffer {
  let b = Buffer.from(input);
  const edits = 1 + rng.int(maxEdits);
  for (let e = 0; e < edits; e++) {
    const at = b.length === 0 ? 0 : rng.int(b.length);
    switch (rng.int(11)) {
      case 0: // flip a bit
        if (b.length) b[at] ^= 1 << rng.int(8);
        break;
      case 1: // an interesting byte
        if (b.length) b[at] = rng.pick(INTERESTING_8);
        break;
      case 2: // a random byte
        if (b.length) b[at] = rng.int(256);
        break;
      case 3: // insert random bytes
        b = Buffer.concat([b.subarray(0, at), rng.bytes(1 + rng.int(8)), b.subarray(at)]);
        break;
      case 4: // delete a run
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + rng.int(16)))]);
        break;
      case 5: // truncate
        b = b.subarray(0, at);
        break;
      case 6: // duplicate a run
        {
          const len = 1 + rng.int(Math.max(1, Math.min(64, b.length - at)));
          b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + len), b.subarray(at)]);
        }
        break;
      case 7: // an interesting varint (lengths, ids, sizes)
        b = Buffer.concat([b.subarray(0, at), Buffer.from(rng.pick(INTERESTING_VARINTS)), b.subarray(Math.min(b.length, at + 1 + rng.int(3)))]);
        break;
      case 8: // splice from another input
        if (donors.length) {
          const d = rng.pick(donors);
          const from = rng.int(d.length + 1);
          b = Buffer.concat([b.subarray(0, at), Buffer.from(d.subarray(from, from + 1 + rng.int(64))), b.subarray(at)]);
        }
        break;
      case 9: // nudge a byte by a small amount (lengths off by one)
        if (b.length) b[at] = (b[at] + rng.pick([1, -1, 2, -2, 16, -16]) + 256) & 0xff;
        break;
      default: // zero a run
        b.fill(0, at, Math.min(b.length, at + 1 + rng.int(32)));
        break;
    }
  }
  return b;
}

/** hex renders at most `max` bytes for a failure report. */
export function hex(b: Uint8Array, max = 256): string {
  const h = Buffer.from(b.subarray(0, max)).toString('hex');
  return b.length > max ? `${h}… (${b.length} bytes)` : h;
}
