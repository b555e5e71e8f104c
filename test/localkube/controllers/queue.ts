// A de-duplicating work queue for the in-process controllers: store events add
// keys, and keys are reconciled later (never inside the store's event dispatch),
// one at a time, with a retry after a delay when reconciling fails.
// It must never hold controller logic.

export interface WorkQueueOptions {
  /** name appears in warnings. */
  name: string;
  retryDelayMs?: number;
  maxRetries?: number;
}

export class WorkQueue {
  readonly #pending = new Set<string>();
  readonly #process: (key: string) => void | Promise<void>;
  readonly #options: Required<WorkQueueOptions>;
  readonly #retries = new Map<string, number>();
  /** #delayed holds the pending delayed add of each key (at most one per key). */
  readonly #delayed = new Map<string, NodeJS.Timeout>();
  #scheduled = false;
  #stopped = false;
  #running: Promise<void> = Promise.resolve();

  constructor(process: (key: string) => void | Promise<void>, options: WorkQueueOptions) {
    this.#process = process;
    this.#options = { retryDelayMs: 200, maxRetries: 20, ...options };
  }

  /** add schedules key for reconciliation (once, however often it is added before it runs). */
  add(key: string): void {
    if (this.#stopped) return;
    this.#pending.add(key);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => {
        this.#running = this.#drain();
      });
    }
  }

  /** addAfter schedules key after a delay (periodic re-checks); a key already waiting keeps its earlier time. */
  addAfter(key: string, delayMs: number): void {
    if (this.#stopped || this.#delayed.has(key)) return;
    const t = setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, delayMs);
    t.unref();
    this.#delayed.set(key, t);
  }

  /** idle resolves when the queue has nothing left to do right now (tests). */
  async idle(): Promise<void> {
    while (this.#scheduled || this.#pending.size > 0) await this.#running.then(() => new Promise((r) => setImmediate(r)));
  }

  stop(): void {
    this.#stopped = true;
    this.#pending.clear();
    for (const t of this.#delayed.values()) clearTimeout(t);
    this.#delayed.clear();
  }

  async #drain(): Promise<void> {
    while (this.#pending.size > 0 && !this.#stopped) {
      const key = this.#pending.values().next().value as string;
      this.#pending.delete(key);
      try {
        await this.#process(key);
        this.#retries.delete(key);
      } catch (err) {
        const n = (this.#retries.get(key) ?? 0) + 1;
        this.#retries.set(key, n);
        if (n <= this.#options.maxRetries) {
          this.addAfter(key, this.#options.retryDelayMs * Math.min(n, 10));
        } else {
          this.#retries.delete(key);
          process.emitWarning(`localkube ${this.#options.name}: giving up on ${key}: ${(err as Error)?.stack ?? err}`);
        }
      }
    }
    this.#scheduled = false;
  }
}
