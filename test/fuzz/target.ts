// The shape of a fuzz target and what a failure carries: every target sets
// itself up, then runs seeded inputs for its time budget (at least one) and
// counts outcomes; a broken property is a
// FuzzFailure naming the target, the seed and iteration that reproduce it, and
// the offending input.
// It must never swallow an unexpected exception: that is a finding.
import { hex } from './mutate.ts';

export interface FuzzReport {
  target: string;
  inputs: number;
  /** outcome name → count (e.g. "rejected", "accepted", "INVALID_ARGUMENT") */
  outcomes: Record<string, number>;
  ms: number;
}

export interface FuzzTarget {
  name: string;
  /** run sets up, then feeds inputs drawn from `seed` for `budgetMs` (set-up not counted, at least one input). */
  run(seed: number, budgetMs: number): Promise<FuzzReport>;
}

export class FuzzFailure extends Error {
  constructor(target: string, seed: number, iteration: number, input: Uint8Array | string, reason: string) {
    const shown = typeof input === 'string' ? JSON.stringify(input.slice(0, 300)) : hex(input);
    super(`fuzz ${target}: ${reason}\n  reproduce: npm run fuzz -- --target ${target} --seed ${seed} (iteration ${iteration})\n  input: ${shown}`);
    this.name = 'FuzzFailure';
  }
}

/** Tally counts outcomes for a report. */
export class Tally {
  readonly outcomes: Record<string, number> = {};
  inputs = 0;
  add(outcome: string): void {
    this.inputs++;
    this.outcomes[outcome] = (this.outcomes[outcome] ?? 0) + 1;
  }
  report(target: string, started: number): FuzzReport {
    return { target, inputs: this.inputs, outcomes: this.outcomes, ms: Math.round(performance.now() - started) };
  }
}

/** SLOW_INPUT_MS: one in-process decode taking longer than this is reported as a hang. */
export const SLOW_INPUT_MS = 2000;
