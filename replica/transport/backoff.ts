// Exponential reconnection backoff with jitter for one peer link: the delay
// doubles from `initialMs` up to `maxMs` and is spread over [delay/2, delay)
// so members that lost the same peer do not redial in lockstep.
// It must never return a delay above `maxMs` or below zero, and holds no timers.

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Uniform [0, 1) source; Math.random unless a test injects one. */
  random?: () => number;
}

export class Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly #random: () => number;
  #failures = 0;

  constructor(opts: BackoffOptions) {
    if (!(opts.initialMs > 0) || !(opts.maxMs >= opts.initialMs)) {
      throw new Error(`backoff needs 0 < initialMs <= maxMs, got ${opts.initialMs} and ${opts.maxMs}`);
    }
    this.initialMs = opts.initialMs;
    this.maxMs = opts.maxMs;
    this.#random = opts.random ?? Math.random;
  }

  /** failures counts consecutive failed attempts since the last reset. */
  get failures(): number {
    return this.#failures;
  }

  /** next records a failed attempt and returns how long to wait before the next one. */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.#failures, 30));
    this.#failures++;
    return ceiling / 2 + (this.#random() * ceiling) / 2;
  }

  /** reset is called once a connection is established. */
  reset(): void {
    this.#failures = 0;
  }
}
