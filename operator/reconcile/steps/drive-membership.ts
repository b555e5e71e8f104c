// Drives a membership operation (Replace, ScaleUp, ScaleDown, RemoveLearners)
// one action per pass, always from the real configuration the leader reports:
// create the new members' volumes and pods, move leadership off a member that
// leaves, call ChangeMembership (learners -> catch-up -> one joint change ->
// leave joint), then delete what is left of the removed members. Past its
// deadline an operation whose new members have not caught up is rolled back
// (learners removed, their pods deleted). Must never issue a change the safety
// rules refuse, and never act destructively without a healthy quorum.
import type { Operation } from '../../api/index.ts';
import { hexId, parseHexId } from '../admin.ts';
import { isDestructive } from '../actions.ts';
import { voterNames, type Context, type StepResult } from '../context.ts';
import {
  changeAction,
  ensureMemberObjects,
  failed,
  finishOperation,
  giveUp,
  inConfiguration,
  membershipRequest,
  pastDeadline,
  pickTransferTarget,
  removedMemberCleanup,
  transferAction,
  waitingForPod,
  type MembershipDelta,
} from '../operation.ts';
import { learnerCaughtUp, leaderNotRemoved, noOtherChangeInFlight, quorumIsHealthy, removalKeepsQuorum } from '../safety.ts';

function wait(ctx: Context, op: Operation, phase: Operation['phase'], message: string): StepResult {
  op.phase = phase;
  op.message = message;
  return { requeueAfterMs: ctx.options.requeue.busy };
}

function haveLeader(ctx: Context): boolean {
  return !!ctx.view.config && ctx.view.configSource === 'leader' && ctx.view.leaderId !== undefined && !!ctx.view.leaderStatus;
}

function addIds(ctx: Context, op: Operation): (number | undefined)[] {
  return op.add.map((m) => {
    const id = ctx.view.idOf(m.name);
    if (id !== undefined) m.id = hexId(id);
    return id;
  });
}

function removeIds(ctx: Context, op: Operation): number[] {
  return op.remove
    .map((m) => parseHexId(m.id) ?? ctx.view.idOf(m.name))
    .filter((id): id is number => id !== undefined && inConfiguration(ctx, id));
}

/** issue checks the safety rules and sends one ChangeMembership, or waits saying which rule refused. */
function issue(ctx: Context, op: Operation, delta: MembershipDelta, what: string, tag = '', forwardOnly = false): StepResult {
  const cfg = ctx.view.config!;
  const owned = new Set(addIds(ctx, op).filter((id): id is number => id !== undefined));
  for (const verdict of [
    quorumIsHealthy(cfg, ctx.healthy),
    noOtherChangeInFlight(cfg, ctx.status.operation, op, owned),
    removalKeepsQuorum(cfg, { remove: delta.remove, promote: delta.promote, add: delta.add.length }, ctx.healthy),
    leaderNotRemoved(ctx.view.leaderId, delta.remove),
  ]) {
    if (!verdict.ok) return wait(ctx, op, 'ChangingMembership', verdict.reason);
  }
  const request = membershipRequest(ctx, op, delta, tag);
  const failure = failed(ctx, `ChangeMembership/${request.requestId}`, op);
  if (failure) {
    op.attempt += 1;
    if (pastDeadline(ctx, op) && !tag && !forwardOnly && op.add.length > 0) return startRollBack(ctx, op, `ChangeMembership kept failing until the deadline: ${failure}`);
    return wait(ctx, op, op.phase, `attempt ${op.attempt} failed: ${failure}`);
  }
  op.phase = tag ? 'RollingBack' : 'ChangingMembership';
  delete op.message;
  return { action: changeAction(ctx, request, what), requeueAfterMs: ctx.options.requeue.busy };
}

function startRollBack(ctx: Context, op: Operation, why: string): StepResult {
  op.phase = 'RollingBack';
  op.message = why;
  ctx.events.push({ type: 'Warning', reason: 'RollingBack', message: `${op.type} (${op.reason}): ${why}` });
  return rollBack(ctx, op);
}

/** rollBack undoes an unfinished addition: remove the new learners, delete their pods and volumes, back off. */
function rollBack(ctx: Context, op: Operation): StepResult {
  if (!haveLeader(ctx)) return wait(ctx, op, 'RollingBack', 'waiting for a leader to roll back');
  const cfg = ctx.view.config!;
  const ids = addIds(ctx, op);
  if (cfg.joint || ids.some((id) => id !== undefined && cfg.voters.includes(id))) {
    // The joint change was entered: it can only finish forwards.
    op.phase = 'ChangingMembership';
    return driveMembership(ctx, op, true);
  }
  const learners = ids.filter((id): id is number => id !== undefined && cfg.learners.includes(id));
  if (learners.length > 0) {
    return issue(ctx, op, { add: [], promote: [], remove: learners }, `remove learners ${learners.map(ctx.view.nameOf).join(', ')}`, '.rollback');
  }
  const cleanup = removedMemberCleanup(ctx, op.add.map((m) => ({ name: m.name })));
  if (cleanup) {
    if (!ctx.quorate && isDestructive(cleanup)) return wait(ctx, op, 'RollingBack', 'quorum lost: rollback cleanup waits');
    return { action: cleanup, requeueAfterMs: ctx.options.requeue.busy };
  }
  return giveUp(ctx, op, op.message ?? 'rolled back');
}

/**
 * driveMembership takes the next step of a membership operation. `forwardOnly`
 * is set when a rollback found the change already (partly) made: it must then
 * finish, never roll back again.
 */
export function driveMembership(ctx: Context, op: Operation, forwardOnly = false): StepResult {
  if (op.phase === 'RollingBack' && !forwardOnly) return rollBack(ctx, op);
  const ids = addIds(ctx, op);
  if (!haveLeader(ctx)) {
    for (const m of op.add) {
      if (ids[op.add.indexOf(m)] !== undefined) continue;
      const r = ensureMemberObjects(ctx, m.name, 'existing', voterNames(ctx));
      if (r) return r;
    }
    return wait(ctx, op, op.phase, 'waiting for a leader to report the configuration');
  }
  const cfg = ctx.view.config!;
  const isVoter = (id: number | undefined) => id !== undefined && cfg.voters.includes(id);
  const remove = removeIds(ctx, op);
  const done = ids.every(isVoter) && remove.length === 0 && !cfg.joint;
  if (done) {
    op.phase = 'CleaningUp';
    const cleanup = removedMemberCleanup(ctx, op.remove);
    if (cleanup) {
      if (!ctx.quorate && isDestructive(cleanup)) return wait(ctx, op, 'CleaningUp', 'quorum lost: cleanup waits');
      return { action: cleanup, requeueAfterMs: ctx.options.requeue.busy };
    }
    return finishOperation(ctx, op);
  }
  if (cfg.joint) {
    // Entered C_old,new: raft leaves it by itself; asking again finishes the change if the caller died.
    return issue(ctx, op, { add: [], promote: [], remove: [] }, 'leave the joint configuration');
  }
  for (const [i, m] of op.add.entries()) {
    if (isVoter(ids[i])) continue;
    const r = ensureMemberObjects(ctx, m.name, 'existing', voterNames(ctx));
    if (r) {
      op.phase = 'CreatingMembers';
      return r;
    }
  }
  const late = pastDeadline(ctx, op) && !forwardOnly;
  // A removal that could not be made before the deadline is abandoned (it blocks every other change meanwhile).
  if (late && op.add.length === 0) return giveUp(ctx, op, `not done before the deadline: ${op.message ?? ''}`);
  const starting = op.add.filter((m, i) => !isVoter(ids[i]) && waitingForPod(ctx, m.name)).map((m) => m.name);
  if (starting.length > 0) {
    if (late) return startRollBack(ctx, op, `${starting.join(', ')} did not start before the deadline`);
    return wait(ctx, op, 'CreatingMembers', `waiting for ${starting.join(', ')} to start`);
  }
  const toAdd = op.add.filter((_, i) => !inConfiguration(ctx, ids[i])).map((m) => m.name);
  const learners = ids.filter((id): id is number => id !== undefined && cfg.learners.includes(id));
  const maxLag = ctx.spec?.failurePolicy.maxLagEntries ?? 0;
  const lagging = learners.filter((id) => !learnerCaughtUp(id, cfg, ctx.view.leaderStatus, maxLag).ok);
  if (lagging.length > 0) {
    const names = lagging.map(ctx.view.nameOf).join(', ');
    if (late) return startRollBack(ctx, op, `learner ${names} did not catch up before the deadline`);
    return wait(ctx, op, 'ChangingMembership', `waiting for learner ${names} to catch up`);
  }
  const leader = ctx.view.leaderId!;
  if (remove.includes(leader)) {
    // Move leadership only for a change that could then be made.
    const possible = removalKeepsQuorum(cfg, { remove, promote: learners, add: toAdd.length }, ctx.healthy);
    if (!possible.ok) return wait(ctx, op, 'ChangingMembership', possible.reason);
    const target = pickTransferTarget(ctx, new Set(remove));
    if (!target) return wait(ctx, op, 'TransferringLeadership', `no healthy voter to take over leadership from ${ctx.view.nameOf(leader)}`);
    if (!ctx.quorate) return wait(ctx, op, 'TransferringLeadership', 'quorum lost: leadership transfer waits');
    const key = `TransferLeadership/${op.id}/${target.name}/${op.attempt}`;
    const failure = failed(ctx, key, op);
    if (failure) {
      op.attempt += 1;
      return wait(ctx, op, 'TransferringLeadership', `transfer failed: ${failure}`);
    }
    op.phase = 'TransferringLeadership';
    return { action: transferAction(ctx, op, target), requeueAfterMs: ctx.options.requeue.busy };
  }
  const what = [
    toAdd.length ? `add ${toAdd.join(', ')}` : '',
    learners.length ? `promote ${learners.map(ctx.view.nameOf).join(', ')}` : '',
    remove.length ? `remove ${remove.map(ctx.view.nameOf).join(', ')}` : '',
  ].filter(Boolean).join(', ');
  return issue(ctx, op, { add: toAdd, promote: learners, remove }, what, '', forwardOnly);
}
