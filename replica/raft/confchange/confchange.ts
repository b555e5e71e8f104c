// Computes the next configuration from the current one and a change: enter a
// joint configuration, leave it, or apply a simple (one-voter) change. Returns
// new values and never mutates the tracker it reads, so a rejected change
// leaves no trace (the same check runs at proposal time and at apply time).
import type { ConfChange, ConfChangeSingle, NodeId } from '../types.ts';
import { JointConfig } from '../quorum/joint.ts';
import { MajorityConfig } from '../quorum/majority.ts';
import { Inflights } from '../tracker/inflights.ts';
import { Progress } from '../tracker/progress.ts';
import type { ProgressMap, ProgressTracker, TrackerConfig } from '../tracker/tracker.ts';

/** ConfChangeError: the change cannot be applied to the current configuration. */
export class ConfChangeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfChangeError';
  }
}

export interface ChangeResult {
  config: TrackerConfig;
  progress: ProgressMap;
}

/** isLeaveJoint: an empty change is the request to leave a joint configuration. */
export function isLeaveJoint(cc: ConfChange): boolean {
  return cc.changes.length === 0;
}

/**
 * entersJoint tells whether a change uses joint consensus, and whether the
 * joint configuration is left automatically. 'auto' uses the simple path only
 * for a single step (at most one voter changes).
 */
export function entersJoint(cc: ConfChange): { joint: boolean; autoLeave: boolean } {
  if (cc.transition !== 'auto' || cc.changes.length > 1) {
    return { joint: true, autoLeave: cc.transition !== 'jointExplicit' };
  }
  return { joint: false, autoLeave: false };
}

/** Changer applies changes on top of a tracker's configuration. */
export class Changer {
  private readonly tracker: ProgressTracker;
  private readonly lastIndex: number;

  constructor(tracker: ProgressTracker, lastIndex: number) {
    this.tracker = tracker;
    this.lastIndex = lastIndex;
  }

  /** apply dispatches a whole ConfChange to the right transition. */
  apply(cc: ConfChange): ChangeResult {
    if (isLeaveJoint(cc)) return this.leaveJoint();
    const { joint, autoLeave } = entersJoint(cc);
    return joint ? this.enterJoint(autoLeave, cc.changes) : this.simple(cc.changes);
  }

  /** enterJoint copies the incoming voters into the outgoing half, then applies the changes to the incoming half. */
  enterJoint(autoLeave: boolean, changes: ConfChangeSingle[]): ChangeResult {
    const { cfg, prs } = this.checkAndCopy();
    if (cfg.outgoing.size > 0) throw new ConfChangeError('config is already joint');
    if (cfg.incoming.size === 0) throw new ConfChangeError("can't make a zero-voter config joint");
    for (const id of cfg.incoming) cfg.outgoing.add(id);
    this.applyChanges(cfg, prs, changes);
    cfg.autoLeave = autoLeave;
    return this.checkAndReturn(cfg, prs);
  }

  /** leaveJoint drops the outgoing half; demoted voters become learners and removed ones lose their progress. */
  leaveJoint(): ChangeResult {
    const { cfg, prs } = this.checkAndCopy();
    if (cfg.outgoing.size === 0) throw new ConfChangeError("can't leave a non-joint config");
    for (const id of cfg.learnersNext) {
      cfg.learners.add(id);
      prs.get(id)!.isLearner = true;
    }
    cfg.learnersNext.clear();
    for (const id of cfg.outgoing) {
      if (!cfg.incoming.has(id) && !cfg.learners.has(id)) prs.delete(id);
    }
    cfg.outgoing.clear();
    cfg.autoLeave = false;
    return this.checkAndReturn(cfg, prs);
  }

  /** simple applies changes that alter at most one voter, outside joint consensus. */
  simple(changes: ConfChangeSingle[]): ChangeResult {
    const { cfg, prs } = this.checkAndCopy();
    if (cfg.outgoing.size > 0) throw new ConfChangeError("can't apply simple config change in joint config");
    const before = new Set(cfg.incoming);
    this.applyChanges(cfg, prs, changes);
    let diff = 0;
    for (const id of before) if (!cfg.incoming.has(id)) diff++;
    for (const id of cfg.incoming) if (!before.has(id)) diff++;
    if (diff > 1) throw new ConfChangeError('more than one voter changed without entering joint config');
    return this.checkAndReturn(cfg, prs);
  }

  private applyChanges(cfg: MutableConfig, prs: ProgressMap, changes: ConfChangeSingle[]): void {
    for (const cc of changes) {
      if (cc.nodeId === 0) continue; // etcd's convention: a zero id is a no-op
      if (!Number.isSafeInteger(cc.nodeId) || cc.nodeId < 0) throw new ConfChangeError(`invalid node id ${cc.nodeId}`);
      switch (cc.type) {
        case 'addNode':
          this.makeVoter(cfg, prs, cc.nodeId);
          break;
        case 'addLearner':
          this.makeLearner(cfg, prs, cc.nodeId);
          break;
        case 'removeNode':
          this.remove(cfg, prs, cc.nodeId);
          break;
        default:
          throw new ConfChangeError(`unexpected conf type ${(cc as ConfChangeSingle).type}`);
      }
    }
    if (cfg.incoming.size === 0) throw new ConfChangeError('removed all voters');
  }

  private makeVoter(cfg: MutableConfig, prs: ProgressMap, id: NodeId): void {
    const pr = prs.get(id);
    if (!pr) {
      this.initProgress(cfg, prs, id, false);
      return;
    }
    pr.isLearner = false;
    cfg.learners.delete(id);
    cfg.learnersNext.delete(id);
    cfg.incoming.add(id);
  }

  private makeLearner(cfg: MutableConfig, prs: ProgressMap, id: NodeId): void {
    const pr = prs.get(id);
    if (!pr) {
      this.initProgress(cfg, prs, id, true);
      return;
    }
    if (pr.isLearner) return;
    // Remove any existing voter role in the incoming half, keeping the progress.
    this.remove(cfg, prs, id);
    prs.set(id, pr);
    // A voter of the outgoing half cannot become a learner while still voting
    // there: it is staged in learnersNext until the joint configuration is left.
    if (cfg.outgoing.has(id)) {
      cfg.learnersNext.add(id);
    } else {
      pr.isLearner = true;
      cfg.learners.add(id);
    }
  }

  private remove(cfg: MutableConfig, prs: ProgressMap, id: NodeId): void {
    if (!prs.has(id)) return;
    cfg.incoming.delete(id);
    cfg.learners.delete(id);
    cfg.learnersNext.delete(id);
    // A voter of the outgoing half keeps its progress until the joint configuration is left.
    if (!cfg.outgoing.has(id)) prs.delete(id);
  }

  private initProgress(cfg: MutableConfig, prs: ProgressMap, id: NodeId, isLearner: boolean): void {
    if (isLearner) cfg.learners.add(id);
    else cfg.incoming.add(id);
    // Start probing at the last index; recentActive so CheckQuorum does not
    // count a member that has not had a chance to answer yet as inactive.
    const pr = new Progress(Math.max(this.lastIndex, 1), new Inflights(this.tracker.maxInflight, this.tracker.maxInflightBytes), isLearner);
    pr.recentActive = true;
    prs.set(id, pr);
  }

  private checkAndCopy(): { cfg: MutableConfig; prs: ProgressMap } {
    const src = this.tracker.config;
    const cfg: MutableConfig = {
      incoming: new Set(src.voters.incoming.ids),
      outgoing: new Set(src.voters.outgoing.ids),
      learners: new Set(src.learners),
      learnersNext: new Set(src.learnersNext),
      autoLeave: src.autoLeave,
    };
    const prs: ProgressMap = new Map();
    for (const [id, pr] of this.tracker.progress) {
      const c = Object.assign(Object.create(Object.getPrototypeOf(pr)), pr) as Progress;
      c.inflights = pr.inflights.clone();
      prs.set(id, c);
    }
    checkInvariants(cfg, prs);
    return { cfg, prs };
  }

  private checkAndReturn(cfg: MutableConfig, prs: ProgressMap): ChangeResult {
    checkInvariants(cfg, prs);
    return { config: freeze(cfg), progress: prs };
  }
}

interface MutableConfig {
  incoming: Set<NodeId>;
  outgoing: Set<NodeId>;
  learners: Set<NodeId>;
  learnersNext: Set<NodeId>;
  autoLeave: boolean;
}

function freeze(cfg: MutableConfig): TrackerConfig {
  return {
    voters: new JointConfig(new MajorityConfig(cfg.incoming), new MajorityConfig(cfg.outgoing)),
    learners: cfg.learners,
    learnersNext: cfg.learnersNext,
    autoLeave: cfg.autoLeave,
  };
}

/** checkInvariants: every member has progress, learners never vote, learnersNext only while joint. */
function checkInvariants(cfg: MutableConfig, prs: ProgressMap): void {
  const fail = (what: string) => {
    throw new ConfChangeError(`invalid configuration: ${what}`);
  };
  for (const id of [...cfg.incoming, ...cfg.outgoing, ...cfg.learners, ...cfg.learnersNext]) {
    if (!prs.has(id)) fail(`no progress for ${id}`);
  }
  for (const id of cfg.learnersNext) {
    if (!cfg.outgoing.has(id)) fail(`${id} is in learnersNext but not outgoing`);
    if (prs.get(id)!.isLearner) fail(`${id} is in learnersNext but already marked as learner`);
  }
  for (const id of cfg.learners) {
    if (cfg.outgoing.has(id)) fail(`${id} is in learners and outgoing voters`);
    if (cfg.incoming.has(id)) fail(`${id} is in learners and incoming voters`);
    if (!prs.get(id)!.isLearner) fail(`${id} is in learners but not marked as learner`);
  }
  if (cfg.outgoing.size === 0) {
    if (cfg.learnersNext.size > 0) fail('learnersNext must be empty when not joint');
    if (cfg.autoLeave) fail('autoLeave must be false when not joint');
  }
}
