// The raft clock of a replica: calls onTick every periodMs on a fixed
// schedule (start + k × period), like Go's time.Ticker that etcd drives its
// raft with. setInterval re-arms from the moment its callback ran, so every
// late tick pushes all later ones back: on a busy event loop the raft clock
// ran up to ~20 % slow (11 ticks in 1.3 s seen in the benchmark), which
// stretched election timeouts and kept followers "in lease" past the moment
// another member's election timeout had ended. A tick missed because the loop
// was blocked longer than a period is dropped, as Go's ticker drops ticks for a
// slow receiver. It must never call onTick more than once per period slot,
// nor after stop().
export interface TickerClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** REAL_CLOCK is the process's own clock and timers (tests pass their own). */
export const REAL_CLOCK: TickerClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface Ticker {
  stop(): void;
}

/** startTicker calls onTick at start + k × periodMs (k = 1, 2, …), skipping slots already past. */
export function startTicker(periodMs: number, onTick: () => void, clock: TickerClock = REAL_CLOCK): Ticker {
  if (!(periodMs > 0)) throw new Error(`ticker period must be positive, got ${periodMs}`);
  const start = clock.now();
  let slot = 0;
  let stopped = false;
  let handle: unknown;
  const arm = () => {
    const now = clock.now();
    // The next slot strictly after the last one fired, and not already past.
    slot = Math.max(slot + 1, Math.floor((now - start) / periodMs) + 1);
    handle = clock.setTimeout(fire, Math.max(0, start + slot * periodMs - now));
  };
  const fire = () => {
    if (stopped) return;
    try {
      onTick();
    } finally {
      if (!stopped) arm();
    }
  };
  arm();
  return {
    stop() {
      stopped = true;
      clock.clearTimeout(handle);
    },
  };
}
