// Drives a Bootstrap: create every founding member's volume and pod with the
// same --initial-cluster and token (so they derive the same ids and initial
// configuration), then wait until a leader reports the configuration and a
// quorum of the founding members is healthy. Must
// never create a member outside the recorded founding set.
import type { Operation } from '../../api/index.ts';
import type { Context, StepResult } from '../context.ts';
import { ensureMemberObjects, finishOperation } from '../operation.ts';

export function driveBootstrap(ctx: Context, op: Operation): StepResult {
  const founding = op.founding ?? [];
  for (const name of founding) {
    const r = ensureMemberObjects(ctx, name, 'new', founding);
    if (r) {
      op.phase = 'CreatingMembers';
      return r;
    }
  }
  // Formed once a leader reports the configuration and a quorum of it is healthy (Ready): until
  // then the group is still bootstrapping, not one that lost its quorum.
  const formed = ctx.view.leaderId !== undefined && ctx.view.config && ctx.view.configSource === 'leader';
  if (formed && ctx.quorate) return finishOperation(ctx, op);
  op.phase = 'WaitingForMember';
  op.message = formed ? 'waiting for a quorum of the founding members to be Ready' : 'waiting for the founding members to elect a leader';
  return { requeueAfterMs: ctx.options.requeue.busy };
}
