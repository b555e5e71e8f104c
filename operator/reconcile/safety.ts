// The safety rules of DESIGN.md, each a pure function of plain data with its
// own unit test. Steps consult them before proposing a change, and the planner
// checks the chosen action against them once more before returning it, so a
// wrong step cannot get an unsafe action out. Must never decide what to do:
// rules only answer "allowed, or why not".
import { allVoters, describeQuorum, hasHealthyQuorum, quorumSize, type Configuration } from './quorum.ts';

/** Verdict is a rule's answer; `reason` is a sentence for a condition message or an Event. */
export type Verdict = { ok: true } | { ok: false; reason: string };

const OK: Verdict = { ok: true };
const no = (reason: string): Verdict => ({ ok: false, reason });

/**
 * Rule 1: never start a change unless a quorum of the current configuration is
 * healthy (both halves while joint). Without it a change cannot commit, and
 * removing anyone could make a lost quorum permanent.
 */
export function quorumIsHealthy(config: Configuration | undefined, healthy: ReadonlySet<number>): Verdict {
  if (!config) return no('the group\'s configuration is unknown: no member answered Status');
  if (!hasHealthyQuorum(config, healthy)) return no(`no healthy quorum: ${describeQuorum(config, healthy)}`);
  return OK;
}

/**
 * Rule 2: one change at a time. A new change may start only when the
 * configuration is not joint and holds no learners, and no operation is in
 * flight. `owned` are learner ids that belong to the operation being driven
 * (its own learners do not block it).
 */
export function noOtherChangeInFlight(
  config: Configuration,
  inFlight: { id: string } | undefined,
  driving: { id: string } | undefined,
  owned: ReadonlySet<number> = new Set(),
): Verdict {
  if (inFlight && inFlight.id !== driving?.id) return no(`operation ${inFlight.id} is still in flight`);
  if (config.joint && !driving) return no('the configuration is joint: the previous change has not finished');
  const stray = config.learners.filter((id) => !owned.has(id));
  if (stray.length > 0) return no(`learners ${stray.map((i) => i.toString(16)).join(', ')} belong to no operation`);
  return OK;
}

/**
 * Rule 3: a new member is a caught-up learner before it votes. A learner may
 * be promoted only when the leader reports it within `maxLag` entries of the
 * leader's commit index. (Members are only ever added as learners: the admin
 * API has no way to add a voter directly.)
 */
export function learnerCaughtUp(
  learner: number,
  config: Configuration,
  leader: { commitIndex: number; progress: { id: number; match: number }[] } | undefined,
  maxLag: number,
): Verdict {
  if (!config.learners.includes(learner)) return no(`${learner.toString(16)} is not a learner`);
  if (!leader) return no('no leader reports learner progress');
  const p = leader.progress.find((x) => x.id === learner);
  if (!p) return no(`the leader reports no progress for learner ${learner.toString(16)}`);
  const lag = leader.commitIndex - p.match;
  if (lag > maxLag) return no(`learner ${learner.toString(16)} is ${lag} entries behind the commit index (at most ${maxLag})`);
  return OK;
}

/**
 * Rule 4: never remove a member if the remaining healthy voters would fall
 * below a quorum of the new configuration. New members being added do not
 * count (they are not voters yet); promoted learners count only when healthy.
 */
export function removalKeepsQuorum(
  config: Configuration,
  change: { remove: number[]; promote?: number[]; add?: number },
  healthy: ReadonlySet<number>,
): Verdict {
  if (change.remove.length === 0) return OK;
  const removed = new Set(change.remove);
  const remaining = config.voters.filter((id) => !removed.has(id));
  const promoted = (change.promote ?? []).filter((id) => !removed.has(id) && !remaining.includes(id));
  const size = remaining.length + promoted.length + (change.add ?? 0);
  if (size === 0) return no('the change would leave no voters');
  const healthyLeft = [...remaining, ...promoted].filter((id) => healthy.has(id)).length;
  const q = quorumSize(size);
  if (healthyLeft < q) {
    return no(`removing ${change.remove.length} would leave ${healthyLeft} healthy voters of ${size}, below the quorum of ${q}`);
  }
  return OK;
}

/**
 * Rule 5: move leadership away before removing the leader. A leader removed by
 * C_new keeps leading until C_new commits (etcd-io/etcd#11038); transferring
 * first keeps the group writable through the change.
 */
export function leaderNotRemoved(leader: number | undefined, remove: number[]): Verdict {
  if (leader !== undefined && leader !== 0 && remove.includes(leader)) {
    return no(`member ${leader.toString(16)} leads: transfer leadership before removing it`);
  }
  return OK;
}

/**
 * Rule 6: if quorum is lost, do nothing destructive. `destructive` comes from
 * isDestructive (actions.ts); creating pods and volumes stays allowed so
 * members can come back.
 */
export function nothingDestructiveWithoutQuorum(destructive: boolean, quorate: boolean): Verdict {
  if (destructive && !quorate) return no('quorum is lost: destructive actions wait until a quorum is healthy again');
  return OK;
}

/**
 * Rolling restarts: never take a voter down unless the others still hold a
 * healthy quorum (so at most one member is down at a time). A single-member
 * group has no fault tolerance to keep and may restart.
 */
export function restartKeepsQuorum(config: Configuration, member: number | undefined, healthy: ReadonlySet<number>): Verdict {
  const voters = allVoters(config);
  if (voters.length === 1 && member === voters[0]) return OK;
  const others = new Set([...healthy].filter((id) => id !== member));
  if (!hasHealthyQuorum(config, others)) {
    return no(`restarting it would leave ${describeQuorum(config, others)}`);
  }
  return OK;
}
