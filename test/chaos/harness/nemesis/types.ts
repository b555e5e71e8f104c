// The nemesis contract: a nemesis injects one fault into a running group and
// returns how to end it. The schedule (schedule.ts) runs one fault at a time:
// quiet, inject, hold, heal.
// It must never hold state between faults except in the cluster it is given.
import type { HistoryRecorder } from '../../history/index.ts';
import type { Prng } from '../../proxy/index.ts';
import type { ChaosCluster } from '../cluster.ts';

export interface NemesisContext {
  readonly cluster: ChaosCluster;
  readonly rng: Prng;
  readonly history: HistoryRecorder;
  /** the founding size the membership nemesis returns to */
  readonly baseSize: number;
  /** --snapshot-catchup-entries of the members (the snapshot nemesis waits until the log is compacted past a dead member) */
  readonly snapshotCatchupEntries: number;
  /** a run-unique id for admin requests */
  nextRequestId(): string;
  log(line: string): void;
}

/** ActiveFault is a fault in force. */
export interface ActiveFault {
  /** what was done, e.g. "kill m2" (for the history and the summary) */
  readonly description: string;
  /** heal ends the fault; returns a note on how it ended, if any. */
  heal(): Promise<string | void>;
}

export interface Nemesis {
  readonly name: string;
  /** inject starts a fault; undefined when it cannot act now (no leader known, no spare address). */
  inject(ctx: NemesisContext): Promise<ActiveFault | undefined>;
}
