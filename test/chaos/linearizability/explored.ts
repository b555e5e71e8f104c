// ExploredStates is the memo of the linearizability search: the set of
// (operations linearized so far, model state) pairs already visited. The
// current set of linearized operations is a bitset with an incrementally
// maintained Zobrist hash; visited pairs live in one open-addressing hash table
// over typed arrays, so recording a pair allocates nothing per entry (the
// search records hundreds of thousands on hard histories).
// It must never report a pair as seen unless an equal pair was recorded:
// hashes only narrow the comparison, the bits and the state decide.

export interface StateHashing<State> {
  hash(state: State): number;
  equal(a: State, b: State): boolean;
}

const INITIAL_SLOTS = 1 << 12;

export class ExploredStates<State> {
  readonly #hashing: StateHashing<State>;
  readonly #words: number;
  /** The current set of linearized operations. */
  readonly #bits: Uint32Array;
  /** Zobrist keys: one random 32-bit word per operation. */
  readonly #zobrist: Int32Array;
  #setHash = 0;

  /** Slot i holds 1 + the index of an entry, or 0 when empty. */
  #slots = new Int32Array(INITIAL_SLOTS);
  #entryHashes = new Int32Array(INITIAL_SLOTS / 2);
  #entryBits: Uint32Array;
  #entryStates: State[] = [];
  #count = 0;

  constructor(operations: number, hashing: StateHashing<State>) {
    this.#hashing = hashing;
    this.#words = Math.max(1, (operations + 31) >>> 5);
    this.#bits = new Uint32Array(this.#words);
    this.#entryBits = new Uint32Array((INITIAL_SLOTS / 2) * this.#words);
    this.#zobrist = new Int32Array(operations);
    let seed = 0x2545f491;
    for (let i = 0; i < operations; i++) {
      seed = (seed + 0x6d2b79f5) | 0;
      this.#zobrist[i] = mix(seed);
    }
  }

  /** size is the number of distinct pairs recorded. */
  get size(): number {
    return this.#count;
  }

  /** bytes is roughly the memory the memo holds (typed arrays plus state references). */
  get bytes(): number {
    return this.#slots.byteLength + this.#entryHashes.byteLength + this.#entryBits.byteLength + this.#entryStates.length * 8;
  }

  /** toggle adds op to, or removes it from, the current linearized set. */
  toggle(op: number): void {
    this.#bits[op >>> 5] ^= 1 << (op & 31);
    this.#setHash ^= this.#zobrist[op];
  }

  /** visit records (current set, state); false if that pair was already recorded. */
  visit(state: State): boolean {
    const h = mix(this.#setHash ^ Math.imul(this.#hashing.hash(state) | 0, 0x85ebca6b));
    const mask = this.#slots.length - 1;
    const words = this.#words;
    let i = h & mask;
    for (let slot = this.#slots[i]; slot !== 0; i = (i + 1) & mask, slot = this.#slots[i]) {
      const e = slot - 1;
      if (this.#entryHashes[e] !== h || !this.#hashing.equal(this.#entryStates[e], state)) continue;
      let same = true;
      for (let w = 0, base = e * words; w < words; w++) {
        if (this.#entryBits[base + w] !== this.#bits[w]) {
          same = false;
          break;
        }
      }
      if (same) return false;
    }
    const e = this.#count++;
    if (e === this.#entryHashes.length) this.#growEntries();
    this.#entryHashes[e] = h;
    this.#entryBits.set(this.#bits, e * words);
    this.#entryStates.push(state);
    this.#slots[i] = e + 1;
    if (this.#count * 2 > this.#slots.length) this.#rehash();
    return true;
  }

  #growEntries(): void {
    const hashes = new Int32Array(this.#entryHashes.length * 2);
    hashes.set(this.#entryHashes);
    this.#entryHashes = hashes;
    const bits = new Uint32Array(this.#entryBits.length * 2);
    bits.set(this.#entryBits);
    this.#entryBits = bits;
  }

  #rehash(): void {
    const slots = new Int32Array(this.#slots.length * 2);
    const mask = slots.length - 1;
    for (let e = 0; e < this.#count; e++) {
      let i = this.#entryHashes[e] & mask;
      while (slots[i] !== 0) i = (i + 1) & mask;
      slots[i] = e + 1;
    }
    this.#slots = slots;
  }
}

/** mix is a 32-bit avalanche (the murmur3 finaliser). */
function mix(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return x ^ (x >>> 16);
}
