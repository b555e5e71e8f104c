// The reconcile work queue, after client-go's: a key is queued at most once,
// never processed by two workers at once (a key added while it is being
// processed is re-queued when that finishes), failures back off
// exponentially per key, and requeue-after timers coalesce with new events.
// Must never drop a key that was added.

export interface QueueOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  workers?: number;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly workers: number;
  private waiting: (() => void)[] = [];
  private shutdown = false;
  private running: Promise<void>[] = [];

  constructor(o: QueueOptions = {}) {
    this.baseDelayMs = o.baseDelayMs ?? 100;
    this.maxDelayMs = o.maxDelayMs ?? 60_000;
    this.workers = o.workers ?? 2;
  }

  get length(): number {
    return this.queue.length;
  }

  /** add queues key now (deduplicated). */
  add(key: string): void {
    if (this.shutdown) return;
    const t = this.timers.get(key);
    if (t) {
      clearTimeout(t.timer);
      this.timers.delete(key);
    }
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    const w = this.waiting.shift();
    w?.();
  }

  /** addAfter queues key after delayMs, unless an earlier add or timer fires first. */
  addAfter(key: string, delayMs: number): void {
    if (this.shutdown) return;
    if (delayMs <= 0) return this.add(key);
    const at = Date.now() + delayMs;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref?.();
    this.timers.set(key, { at, timer });
  }

  /** addRateLimited requeues a failed key with exponential backoff. */
  addRateLimited(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** n);
    this.addAfter(key, delay);
    return delay;
  }

  /** forget resets a key's backoff after a success. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  private async next(): Promise<string | undefined> {
    while (!this.shutdown && this.queue.length === 0) await new Promise<void>((r) => this.waiting.push(r));
    if (this.shutdown) return undefined;
    const key = this.queue.shift()!;
    this.queued.delete(key);
    this.processing.add(key);
    return key;
  }

  private done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  /**
   * run starts the workers. `handle` returns a requeue delay in ms (or
   * undefined for none); a thrown error requeues with backoff.
   */
  run(handle: (key: string) => Promise<number | undefined>, onError: (key: string, err: unknown, retryInMs: number) => void): void {
    for (let i = 0; i < this.workers; i++) {
      this.running.push(
        (async () => {
          for (;;) {
            const key = await this.next();
            if (key === undefined) return;
            try {
              const after = await handle(key);
              this.forget(key);
              if (after !== undefined) this.addAfter(key, after);
            } catch (err) {
              onError(key, err, this.addRateLimited(key));
            } finally {
              this.done(key);
            }
          }
        })(),
      );
    }
  }

  /** stop lets workers finish their current key and ends them. */
  async stop(): Promise<void> {
    this.shutdown = true;
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
    for (const w of this.waiting.splice(0)) w();
    await Promise.all(this.running);
  }
}
