// Availability seen by the clients: the longest stretch of the run during
// which no call succeeded. A long one under a fault the group should survive
// (a minority down, a one-way cut) points at a liveness problem even when the
// history is linearizable.
// It must never look at nemesis events or at calls outside [from, to].
import type { HistoryEvent } from '../history/index.ts';

export interface Availability {
  /** the longest time without a successful call, in ms */
  longestGapMs: number;
  /** when it began, in seconds since the workload started */
  gapStartS: number;
}

/** longestGap scans :ok completions between `from` and `to` (ns on the history's clock). */
export function longestGap(events: readonly HistoryEvent[], from: number, to: number): Availability {
  let last = from;
  let best = { longestGapMs: 0, gapStartS: 0 };
  const consider = (t: number) => {
    if (t - last > best.longestGapMs * 1e6) best = { longestGapMs: (t - last) / 1e6, gapStartS: (last - from) / 1e9 };
    last = t;
  };
  for (const e of events) {
    if (e.process === 'nemesis' || e.type !== 'ok' || e.time === undefined || e.time < from || e.time > to) continue;
    consider(e.time);
  }
  consider(to);
  return best;
}
