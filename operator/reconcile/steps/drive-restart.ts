// Drives a Restart (a rolling update of a member whose data lives on a
// volume): move leadership off it if it leads, delete its pod (only while the
// others hold a healthy quorum), recreate the pod with the new settings and the
// same volume, and wait until the member is Ready and caught up. A member that
// does not come back before the deadline stops the rollout (RolloutStuck)
// instead of letting it continue. Must never take down a second member.
import type { Operation } from '../../api/index.ts';
import { ANNOTATION_SPEC_HASH } from '../names.ts';
import { voterNames, type Context, type StepResult } from '../context.ts';
import {
  ensureMemberObjects,
  failed,
  finishOperation,
  inConfiguration,
  pastDeadline,
  pickTransferTarget,
  transferAction,
} from '../operation.ts';
import { quorumIsHealthy, restartKeepsQuorum } from '../safety.ts';

function wait(ctx: Context, op: Operation, message: string): StepResult {
  op.message = message;
  return { requeueAfterMs: ctx.options.requeue.busy };
}

function stuck(ctx: Context, op: Operation, why: string): StepResult {
  delete ctx.status.operation;
  const member = op.member?.name ?? '';
  ctx.status.rolloutBlocked = { specHash: op.specHash ?? '', member, reason: why };
  ctx.events.push({ type: 'Warning', reason: 'RolloutStuck', message: `rolling update stopped at ${member}: ${why}` });
  return { requeueAfterMs: ctx.options.requeue.steady };
}

export function driveRestart(ctx: Context, op: Operation): StepResult {
  const name = op.member?.name ?? '';
  const m = ctx.view.members.get(name);
  if (!m || !inConfiguration(ctx, m.id)) {
    // Replaced or removed meanwhile: nothing left to restart.
    delete ctx.status.operation;
    return { requeueAfterMs: ctx.options.requeue.busy };
  }
  const pod = m.pod;
  const terminating = !!pod?.metadata?.deletionTimestamp;
  const oldPod = pod && !terminating && pod.metadata?.annotations?.[ANNOTATION_SPEC_HASH] !== op.specHash;
  if (oldPod) {
    if (pastDeadline(ctx, op)) return stuck(ctx, op, `could not take ${name} down safely before the deadline: ${op.message ?? ''}`);
    const cfg = ctx.view.config;
    if (!cfg || ctx.view.configSource !== 'leader') return wait(ctx, op, 'waiting for a leader');
    const quorum = quorumIsHealthy(cfg, ctx.healthy);
    if (!quorum.ok) return wait(ctx, op, quorum.reason);
    if (m.id === ctx.view.leaderId) {
      const target = pickTransferTarget(ctx, new Set([m.id!]), (x) => x.pod?.metadata?.annotations?.[ANNOTATION_SPEC_HASH] === op.specHash);
      if (!target) return wait(ctx, op, `no healthy voter to take over leadership from ${name}`);
      const failure = failed(ctx, `TransferLeadership/${op.id}/${target.name}/${op.attempt}`, op);
      if (failure) {
        op.attempt += 1;
        return wait(ctx, op, `transfer failed: ${failure}`);
      }
      op.phase = 'TransferringLeadership';
      return { action: transferAction(ctx, op, target), requeueAfterMs: ctx.options.requeue.busy };
    }
    const keeps = restartKeepsQuorum(cfg, m.id, ctx.healthy);
    if (!keeps.ok) return wait(ctx, op, keeps.reason);
    op.phase = 'WaitingForMember';
    return {
      action: {
        kind: 'DeletePod',
        key: `DeletePod/${name}/${pod!.metadata?.uid ?? ''}`,
        description: `restart ${name} with the new pod settings (volume kept)`,
        name,
        uid: pod!.metadata?.uid,
        reason: 'Restart',
      },
      requeueAfterMs: ctx.options.requeue.busy,
    };
  }
  if (!pod || terminating) {
    const r = ensureMemberObjects(ctx, name, 'existing', voterNames(ctx));
    if (r) return r;
  }
  if (ctx.health.get(name)?.health === 'Healthy') return finishOperation(ctx, op);
  if (pastDeadline(ctx, op)) {
    const h = ctx.health.get(name);
    return stuck(ctx, op, `${name} did not come back Ready and caught up: ${h?.reason ?? ''} ${h?.message ?? ''}`.trim());
  }
  op.phase = 'WaitingForMember';
  return wait(ctx, op, `waiting for ${name} to be Ready and caught up`);
}
