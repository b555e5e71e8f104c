// KeyIndex is the store's ordered map from key (a latin1 string, so string
// order is byte order) to that key's history. It is a B+ tree whose leaves are
// chained for range scans and whose nodes count their *live* entries (keys
// that exist at the current revision), so a Range can seek to its first key in
// O(log n), stop after `limit` keys, and still report etcd's `count` of the
// whole range in O(log n) instead of walking it.
// It must never know what a value means: liveness is told by the caller.

/** MAX_ENTRIES is the fan-out: a node splits when it holds more. */
const MAX_ENTRIES = 64;
/** BULK_FILL is how full bulkLoad packs nodes, leaving room for later inserts. */
const BULK_FILL = 48;

class Leaf<V> {
  readonly isLeaf = true;
  keys: string[] = [];
  values: V[] = [];
  /** live[i] is 1 when keys[i] exists at the current revision, else 0. */
  live: number[] = [];
  /** count is the number of live entries. */
  count = 0;
  prev: Leaf<V> | null = null;
  next: Leaf<V> | null = null;
}

class Branch<V> {
  readonly isLeaf = false;
  children: Node<V>[] = [];
  /** seps[i] is a lower bound of every key in children[i + 1] and above every key in children[i]. */
  seps: string[] = [];
  count = 0;
}

type Node<V> = Leaf<V> | Branch<V>;

interface Split<V> {
  sep: string;
  right: Node<V>;
}

/** lowerBound returns the first index whose key is >= key. */
function lowerBound(keys: string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** upperBound returns the first index whose key is > key: the child of a branch that holds key. */
function upperBound(keys: string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function sumCounts<V>(children: Node<V>[]): number {
  let total = 0;
  for (const child of children) total += child.count;
  return total;
}

function sumLive(live: number[]): number {
  let total = 0;
  for (const l of live) total += l;
  return total;
}

export class KeyIndex<V> {
  private root: Node<V> = new Leaf<V>();
  private entries = 0;

  /** size is the number of keys held, live or not. */
  get size(): number {
    return this.entries;
  }

  /** liveCount is the number of live keys. */
  get liveCount(): number {
    return this.root.count;
  }

  get(key: string): V | undefined {
    let node = this.root;
    while (!node.isLeaf) node = node.children[upperBound(node.seps, key)];
    const i = lowerBound(node.keys, key);
    return i < node.keys.length && node.keys[i] === key ? node.values[i] : undefined;
  }

  /** set inserts or replaces key's value and liveness. */
  set(key: string, value: V, live: boolean): void {
    const split = this.insert(this.root, key, value, live ? 1 : 0);
    if (split) {
      const root = new Branch<V>();
      root.children = [this.root, split.right];
      root.seps = [split.sep];
      root.count = this.root.count + split.right.count;
      this.root = root;
    }
  }

  /** setLive changes the liveness of a key already present; returns false if the key is absent. */
  setLive(key: string, live: boolean): boolean {
    const flag = live ? 1 : 0;
    const path: Branch<V>[] = [];
    let node = this.root;
    while (!node.isLeaf) {
      path.push(node);
      node = node.children[upperBound(node.seps, key)];
    }
    const i = lowerBound(node.keys, key);
    if (i >= node.keys.length || node.keys[i] !== key) return false;
    const delta = flag - node.live[i];
    if (delta !== 0) {
      node.live[i] = flag;
      node.count += delta;
      for (const branch of path) branch.count += delta;
    }
    return true;
  }

  /** delete removes key; returns whether it was present. */
  delete(key: string): boolean {
    const result = this.remove(this.root, key);
    if (!result.found) return false;
    // Collapse a root left with a single child (or none).
    while (!this.root.isLeaf && this.root.children.length <= 1) {
      this.root = this.root.children.length === 1 ? this.root.children[0] : new Leaf<V>();
    }
    return true;
  }

  /**
   * scan calls visit(key, value, live) for keys in [start, end) in ascending
   * order (end null = unbounded) until visit returns false.
   */
  scan(start: string, end: string | null, visit: (key: string, value: V, live: boolean) => boolean | void): void {
    let node = this.root;
    while (!node.isLeaf) node = node.children[upperBound(node.seps, start)];
    let leaf: Leaf<V> | null = node;
    let i = lowerBound(leaf.keys, start);
    while (leaf) {
      const { keys, values, live } = leaf;
      for (; i < keys.length; i++) {
        const key = keys[i];
        if (end !== null && key >= end) return;
        if (visit(key, values[i], live[i] === 1) === false) return;
      }
      leaf = leaf.next;
      i = 0;
    }
  }

  /**
   * capture copies the keys and values, leaf by leaf, into chunks (in
   * ascending key order across them): later changes to the index do not show
   * in them. O(n) but only array copies, no per-entry work.
   */
  capture(): { keys: string[][]; values: V[][] } {
    const keys: string[][] = [];
    const values: V[][] = [];
    let node = this.root;
    while (!node.isLeaf) node = node.children[0];
    for (let leaf: Leaf<V> | null = node; leaf; leaf = leaf.next) {
      if (leaf.keys.length === 0) continue;
      keys.push(leaf.keys.slice());
      values.push(leaf.values.slice());
    }
    return { keys, values };
  }

  /** countLive returns how many live keys lie in [start, end) (end null = unbounded), in O(log n). */
  countLive(start: string, end: string | null): number {
    if (end !== null && end <= start) return 0;
    const upper = end === null ? this.root.count : this.rank(end);
    return upper - this.rank(start);
  }

  /**
   * bulkLoad replaces the contents with entries given in strictly ascending key
   * order, building packed nodes bottom-up in O(n).
   */
  bulkLoad(keys: string[], values: V[], live: boolean[]): void {
    if (keys.length !== values.length || keys.length !== live.length) {
      throw new Error('key index: bulk load needs as many values and liveness flags as keys');
    }
    for (let i = 1; i < keys.length; i++) {
      if (!(keys[i - 1] < keys[i])) throw new Error('key index: bulk load keys must be strictly ascending');
    }
    this.entries = keys.length;
    if (keys.length === 0) {
      this.root = new Leaf<V>();
      return;
    }
    let level: Node<V>[] = [];
    let prev: Leaf<V> | null = null;
    for (let at = 0; at < keys.length; at += BULK_FILL) {
      const leaf = new Leaf<V>();
      leaf.keys = keys.slice(at, at + BULK_FILL);
      leaf.values = values.slice(at, at + BULK_FILL);
      leaf.live = live.slice(at, at + BULK_FILL).map((l) => (l ? 1 : 0));
      leaf.count = sumLive(leaf.live);
      leaf.prev = prev;
      if (prev) prev.next = leaf;
      prev = leaf;
      level.push(leaf);
    }
    while (level.length > 1) {
      const upper: Node<V>[] = [];
      for (let at = 0; at < level.length; at += BULK_FILL) {
        const branch = new Branch<V>();
        branch.children = level.slice(at, at + BULK_FILL);
        branch.seps = branch.children.slice(1).map((child) => this.firstKey(child));
        branch.count = sumCounts(branch.children);
        upper.push(branch);
      }
      level = upper;
    }
    this.root = level[0];
  }

  /**
   * checkInvariants verifies ordering, separators, counts and the leaf chain,
   * throwing on the first violation. O(n); for tests.
   */
  checkInvariants(): void {
    const leaves: Leaf<V>[] = [];
    const walk = (node: Node<V>, low: string | null, high: string | null, depth: number, depths: Set<number>): number => {
      if (node.isLeaf) {
        depths.add(depth);
        for (let i = 0; i < node.keys.length; i++) {
          const k = node.keys[i];
          if (i > 0 && !(node.keys[i - 1] < k)) throw new Error('key index: leaf keys out of order');
          if (low !== null && k < low) throw new Error('key index: key below its separator');
          if (high !== null && k >= high) throw new Error('key index: key at or above the next separator');
        }
        if (node.count !== sumLive(node.live)) throw new Error('key index: leaf count wrong');
        if (node !== this.root && node.keys.length === 0) throw new Error('key index: empty leaf kept');
        leaves.push(node);
        return node.keys.length;
      }
      if (node.children.length !== node.seps.length + 1) throw new Error('key index: separators do not match children');
      if (node.children.length === 0) throw new Error('key index: empty branch kept');
      let n = 0;
      for (let i = 0; i < node.children.length; i++) {
        n += walk(node.children[i], i === 0 ? low : node.seps[i - 1], i === node.seps.length ? high : node.seps[i], depth + 1, depths);
      }
      if (node.count !== sumCounts(node.children)) throw new Error('key index: branch count wrong');
      return n;
    };
    const depths = new Set<number>();
    const n = walk(this.root, null, null, 0, depths);
    if (depths.size > 1) throw new Error('key index: leaves at different depths');
    if (n !== this.entries) throw new Error(`key index: size ${this.entries} but ${n} entries held`);
    for (let i = 0; i < leaves.length; i++) {
      if (leaves[i].prev !== (i === 0 ? null : leaves[i - 1])) throw new Error('key index: broken prev link');
      if (leaves[i].next !== (i === leaves.length - 1 ? null : leaves[i + 1])) throw new Error('key index: broken next link');
    }
  }

  /** rank returns how many live keys are < key. */
  private rank(key: string): number {
    let total = 0;
    let node = this.root;
    while (!node.isLeaf) {
      const ci = upperBound(node.seps, key);
      for (let i = 0; i < ci; i++) total += node.children[i].count;
      node = node.children[ci];
    }
    const end = lowerBound(node.keys, key);
    for (let i = 0; i < end; i++) total += node.live[i];
    return total;
  }

  private firstKey(node: Node<V>): string {
    while (!node.isLeaf) node = node.children[0];
    return node.keys[0];
  }

  private insert(node: Node<V>, key: string, value: V, live: number): Split<V> | null {
    if (node.isLeaf) {
      const i = lowerBound(node.keys, key);
      if (i < node.keys.length && node.keys[i] === key) {
        node.count += live - node.live[i];
        node.values[i] = value;
        node.live[i] = live;
        return null;
      }
      node.keys.splice(i, 0, key);
      node.values.splice(i, 0, value);
      node.live.splice(i, 0, live);
      node.count += live;
      this.entries++;
      return node.keys.length > MAX_ENTRIES ? this.splitLeaf(node) : null;
    }
    const ci = upperBound(node.seps, key);
    const child = node.children[ci];
    const before = child.count;
    const split = this.insert(child, key, value, live);
    if (!split) {
      node.count += child.count - before;
      return null;
    }
    node.children.splice(ci + 1, 0, split.right);
    node.seps.splice(ci, 0, split.sep);
    node.count += child.count + split.right.count - before;
    return node.children.length > MAX_ENTRIES ? this.splitBranch(node) : null;
  }

  private splitLeaf(leaf: Leaf<V>): Split<V> {
    const mid = leaf.keys.length >>> 1;
    const right = new Leaf<V>();
    right.keys = leaf.keys.splice(mid);
    right.values = leaf.values.splice(mid);
    right.live = leaf.live.splice(mid);
    right.count = sumLive(right.live);
    leaf.count -= right.count;
    right.next = leaf.next;
    if (right.next) right.next.prev = right;
    right.prev = leaf;
    leaf.next = right;
    return { sep: right.keys[0], right };
  }

  private splitBranch(branch: Branch<V>): Split<V> {
    const mid = branch.children.length >>> 1;
    const right = new Branch<V>();
    right.children = branch.children.splice(mid);
    const sep = branch.seps[mid - 1];
    right.seps = branch.seps.splice(mid);
    branch.seps.length = mid - 1;
    right.count = sumCounts(right.children);
    branch.count -= right.count;
    return { sep, right };
  }

  /** remove deletes key under node; empty nodes are unlinked by their parent. */
  private remove(node: Node<V>, key: string): { found: boolean; empty: boolean } {
    if (node.isLeaf) {
      const i = lowerBound(node.keys, key);
      if (i >= node.keys.length || node.keys[i] !== key) return { found: false, empty: false };
      node.count -= node.live[i];
      node.keys.splice(i, 1);
      node.values.splice(i, 1);
      node.live.splice(i, 1);
      this.entries--;
      return { found: true, empty: node.keys.length === 0 };
    }
    const ci = upperBound(node.seps, key);
    const child = node.children[ci];
    const before = child.count;
    const result = this.remove(child, key);
    if (!result.found) return result;
    node.count += child.count - before;
    if (result.empty) {
      if (child.isLeaf) {
        if (child.prev) child.prev.next = child.next;
        if (child.next) child.next.prev = child.prev;
      }
      node.children.splice(ci, 1);
      // The emptied child's key interval merges into a neighbour's.
      node.seps.splice(ci === 0 ? 0 : ci - 1, 1);
    }
    return { found: true, empty: node.children.length === 0 };
  }
}
