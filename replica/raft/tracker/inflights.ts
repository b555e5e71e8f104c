// Flow control for one follower in the replicate state: the append messages
// sent but not yet acknowledged, bounded by count and by bytes. Must never
// decide what to send; the leader asks `full()` before sending.

interface Inflight {
  index: number;
  bytes: number;
}

export class Inflights {
  private readonly maxCount: number;
  private readonly maxBytes: number;
  private queue: Inflight[] = [];
  private head = 0;
  private totalBytes = 0;

  /** maxBytes 0 means no byte limit. */
  constructor(maxCount: number, maxBytes = 0) {
    this.maxCount = maxCount;
    this.maxBytes = maxBytes;
  }

  get count(): number {
    return this.queue.length - this.head;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** add records an append whose last entry is `index`; indexes must increase. */
  add(index: number, bytes: number): void {
    if (this.full()) throw new Error('raft invariant violated: cannot add into a full inflights');
    this.queue.push({ index, bytes });
    this.totalBytes += bytes;
  }

  /** freeLE releases every append up to and including `to` (acknowledged). */
  freeLE(to: number): void {
    while (this.head < this.queue.length && this.queue[this.head].index <= to) {
      this.totalBytes -= this.queue[this.head].bytes;
      this.head++;
    }
    if (this.head > 64 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** freeFirstOne releases the oldest append (a heartbeat answered: let a stalled pipeline probe again). */
  freeFirstOne(): void {
    if (this.count > 0) this.freeLE(this.queue[this.head].index);
  }

  full(): boolean {
    return this.count >= this.maxCount || (this.maxBytes > 0 && this.totalBytes >= this.maxBytes);
  }

  reset(): void {
    this.queue = [];
    this.head = 0;
    this.totalBytes = 0;
  }

  clone(): Inflights {
    const c = new Inflights(this.maxCount, this.maxBytes);
    c.queue = this.queue.slice(this.head);
    c.totalBytes = this.totalBytes;
    return c;
  }
}
