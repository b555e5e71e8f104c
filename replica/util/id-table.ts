// IdTable: a map from numeric ids (safe integers) to values, for the hot paths
// where entries come and go at the rate of requests: HTTP/2 streams by stream
// id, proposals waiting for their apply by request id.
//
// Why not a Map: V8 gives a Map a new backing table as entries churn and links
// each retired table to its successor (so that live iterators can follow), and
// a retired table keeps the entries it held. Once one table of a busy Map is in
// the old generation (a full collection moves the live one there), every later
// table, and every value live in one when it was retired, is reachable from
// old space: each young collection copies them, the next promotes them, and
// they stay until the next full collection. A leader serving 64 clients
// promoted ~2 MB per scavenge that way, and a scavenge takes time in
// proportion to what it keeps (docs/benchmarks.md, Optimisations, item 37).
// This table keeps its ids in a Float64Array and its values in one plain
// array (open addressing, linear probing, backward-shift deletion: no
// tombstones), clears a slot on delete, and empties an array it outgrew
// before letting go of it, so nothing it retired refers to a value.
//
// Iteration is in slot order, not insertion order. It must never hold a value
// after the value's id was deleted, and never be given `undefined` as a value
// (an empty slot is one whose value is undefined).

const MIN_CAPACITY = 16;
/** SHRINK_FROM: below this capacity the table never shrinks (a few KB at most) */
const SHRINK_FROM = 1024;

export class IdTable<V> {
  /** the ids and the values, slot by slot (a power of two of them) */
  #ids = new Float64Array(MIN_CAPACITY);
  #values: (V | undefined)[] = new Array<V | undefined>(MIN_CAPACITY).fill(undefined);
  /** 32 - log2(capacity): an id's hash shifted right by it is the id's home slot */
  #shift = 32 - Math.log2(MIN_CAPACITY);
  #size = 0;

  /** size is the number of ids held. */
  get size(): number {
    return this.#size;
  }

  get(id: number): V | undefined {
    return this.#values[this.#find(id)];
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** set puts `value` under `id`, replacing what was there. */
  set(id: number, value: V): this {
    if (value === undefined) throw new Error('IdTable: undefined is not a value');
    if (!Number.isSafeInteger(id)) throw new Error(`IdTable: id ${id} is not a safe integer`);
    let i = this.#find(id);
    if (this.#values[i] === undefined) {
      if (2 * (this.#size + 1) > this.#values.length) {
        this.#resize(this.#values.length * 2);
        i = this.#find(id);
      }
      this.#ids[i] = id;
      this.#size++;
    }
    this.#values[i] = value;
    return this;
  }

  /** delete removes `id`; false if it was not held. */
  delete(id: number): boolean {
    let hole = this.#find(id);
    const values = this.#values;
    if (values[hole] === undefined) return false;
    values[hole] = undefined;
    this.#size--;
    // Backward-shift: move up every entry of the probe run after the hole
    // whose home slot is not cyclically in (hole, j], so lookups never cross
    // an empty slot before reaching their entry.
    const ids = this.#ids;
    const mask = values.length - 1;
    for (let j = (hole + 1) & mask; values[j] !== undefined; j = (j + 1) & mask) {
      const home = this.#home(ids[j]);
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      ids[hole] = ids[j];
      values[hole] = values[j];
      values[j] = undefined;
      hole = j;
    }
    if (values.length >= SHRINK_FROM && this.#size * 8 < values.length) this.#resize(values.length / 2);
    return true;
  }

  /** clear removes every id. */
  clear(): void {
    this.#values.fill(undefined);
    this.#size = 0;
  }

  /** valuesNow returns the values held, in slot order, as a new array (safe to change the table while walking it). */
  valuesNow(): V[] {
    const out: V[] = [];
    for (const v of this.#values) if (v !== undefined) out.push(v);
    return out;
  }

  /** forEach calls `fn` with each value and its id; `fn` must not change the table. */
  forEach(fn: (value: V, id: number) => void): void {
    const values = this.#values;
    const ids = this.#ids;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v !== undefined) fn(v, ids[i]);
    }
  }

  /** home is the slot an id hashes to (Fibonacci hashing of its two 32-bit halves). */
  #home(id: number): number {
    const lo = id >>> 0;
    const hi = (id - lo) / 0x1_0000_0000;
    return Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> this.#shift;
  }

  /** find returns the slot holding `id`, or the empty slot where it would go. */
  #find(id: number): number {
    const values = this.#values;
    const ids = this.#ids;
    const mask = values.length - 1;
    let i = this.#home(id);
    while (values[i] !== undefined && ids[i] !== id) i = (i + 1) & mask;
    return i;
  }

  #resize(capacity: number): void {
    const oldIds = this.#ids;
    const oldValues = this.#values;
    this.#ids = new Float64Array(capacity);
    this.#values = new Array<V | undefined>(capacity).fill(undefined);
    this.#shift = 32 - Math.log2(capacity);
    for (let i = 0; i < oldValues.length; i++) {
      const v = oldValues[i];
      if (v === undefined) continue;
      const j = this.#find(oldIds[i]);
      this.#ids[j] = oldIds[i];
      this.#values[j] = v;
    }
    // the outgrown array may be in the old generation already: it must not keep values alive
    oldValues.fill(undefined);
  }
}
