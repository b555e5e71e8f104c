// What the leader knows about one follower's log, and the replication state
// machine (probe / replicate / snapshot) deciding how it sends to it.
// Invariant: 0 <= match < next. Must never send anything itself.
import { Inflights } from './inflights.ts';

/**
 * ProgressState: 'probe' sends one append per heartbeat interval until the
 * follower's log position is found; 'replicate' streams appends optimistically
 * (pipelining) within the inflight limits; 'snapshot' waits for a snapshot.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** pendingSnapshot is the index of the snapshot being sent while in 'snapshot'. */
  pendingSnapshot = 0;
  /** recentActive is set by any response from the follower; CheckQuorum clears it each round. */
  recentActive = false;
  /** msgAppFlowPaused stops further appends while probing until the last one is answered. */
  msgAppFlowPaused = false;
  inflights: Inflights;
  isLearner: boolean;

  constructor(next: number, inflights: Inflights, isLearner: boolean) {
    this.next = next;
    this.inflights = inflights;
    this.isLearner = isLearner;
  }

  private resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // After a snapshot the follower is known to hold at least the snapshot.
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** maybeUpdate records an acknowledgement of `n`; false when it is stale. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.msgAppFlowPaused = false;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /** optimisticUpdate advances next past entries just sent in replicate state. */
  optimisticUpdate(n: number): void {
    this.next = n + 1;
  }

  /**
   * maybeDecrTo handles a rejected append for `rejected` with the follower's
   * hint; false when the rejection is stale (an old, reordered response).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /** isPaused: whether the leader should hold appends to this follower for now. */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.msgAppFlowPaused;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }

  toString(): string {
    let s = `${this.state} match=${this.match} next=${this.next}`;
    if (this.isLearner) s += ' learner';
    if (this.state === 'snapshot') s += ` pendingSnap=${this.pendingSnapshot}`;
    if (!this.recentActive) s += ' inactive';
    const n = this.inflights.count;
    if (n > 0) s += ` inflight=${n}${this.inflights.full() ? '[full]' : ''}`;
    return s;
  }
}
