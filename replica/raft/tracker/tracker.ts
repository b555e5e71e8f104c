// The leader's (and candidate's) view of the configuration: who votes, who
// learns, each member's progress, and the votes of the current election.
// Must never change the configuration itself; confchange builds new values.
import type { ConfState, NodeId } from '../types.ts';
import { JointConfig } from '../quorum/joint.ts';
import type { VoteResult } from '../quorum/majority.ts';
import { Progress } from './progress.ts';

/** TrackerConfig is a configuration as raft uses it (see ConfState for the persisted form). */
export interface TrackerConfig {
  voters: JointConfig;
  learners: Set<NodeId>;
  /** learnersNext become learners when the joint configuration is left (demoted voters of C_old). */
  learnersNext: Set<NodeId>;
  /** autoLeave: the leader leaves the joint configuration as soon as it is applied. */
  autoLeave: boolean;
}

export function emptyTrackerConfig(): TrackerConfig {
  return { voters: new JointConfig(), learners: new Set(), learnersNext: new Set(), autoLeave: false };
}

export function configToString(c: TrackerConfig): string {
  let s = `voters=${c.voters}`;
  if (c.learners.size) s += ` learners=(${[...c.learners].sort((a, b) => a - b).join(' ')})`;
  if (c.learnersNext.size) s += ` learners_next=(${[...c.learnersNext].sort((a, b) => a - b).join(' ')})`;
  if (c.autoLeave) s += ' autoleave';
  return s;
}

export type ProgressMap = Map<NodeId, Progress>;

export class ProgressTracker {
  config: TrackerConfig = emptyTrackerConfig();
  progress: ProgressMap = new Map();
  votes = new Map<NodeId, boolean>();
  readonly maxInflight: number;
  readonly maxInflightBytes: number;

  constructor(maxInflight: number, maxInflightBytes: number) {
    this.maxInflight = maxInflight;
    this.maxInflightBytes = maxInflightBytes;
  }

  /** confState renders the configuration in its persisted form, sorted. */
  confState(): ConfState {
    const sort = (s: Iterable<NodeId>) => [...s].sort((a, b) => a - b);
    return {
      voters: this.config.voters.incoming.sorted(),
      votersOutgoing: this.config.voters.outgoing.sorted(),
      learners: sort(this.config.learners),
      learnersNext: sort(this.config.learnersNext),
      autoLeave: this.config.autoLeave,
    };
  }

  /** isSingleton: exactly one voter and not joint (a one-member group commits alone). */
  isSingleton(): boolean {
    return this.config.voters.incoming.size === 1 && this.config.voters.outgoing.size === 0;
  }

  /** committed is the largest index acknowledged by a (joint) quorum of voters. */
  committed(): number {
    return this.config.voters.committedIndex((id) => this.progress.get(id)?.match);
  }

  /** visit calls f for every tracked member in ascending id order (deterministic). */
  visit(f: (id: NodeId, pr: Progress) => void): void {
    const ids = [...this.progress.keys()].sort((a, b) => a - b);
    for (const id of ids) f(id, this.progress.get(id)!);
  }

  /** quorumActive: whether a quorum of voters was recently active (CheckQuorum). */
  quorumActive(): boolean {
    const votes = new Map<NodeId, boolean>();
    this.visit((id, pr) => {
      if (!pr.isLearner) votes.set(id, pr.recentActive);
    });
    return this.config.voters.voteResult(votes) === 'won';
  }

  /** voterIds lists every voter of either half, ascending. */
  voterIds(): NodeId[] {
    return this.config.voters.ids();
  }

  resetVotes(): void {
    this.votes = new Map();
  }

  /** recordVote keeps the first vote from each member. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const [id, pr] of this.progress) {
      if (pr.isLearner) continue;
      const v = this.votes.get(id);
      if (v === undefined) continue;
      if (v) granted++;
      else rejected++;
    }
    return { granted, rejected, result: this.config.voters.voteResult(this.votes) };
  }
}
