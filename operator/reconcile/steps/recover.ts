// Brings back members whose pod is gone or Failed while their volume keeps
// the data: recreate the missing pod (same name, same volume), or delete a
// Failed pod so it can be recreated. Neither loses data, so both also run
// while quorum is lost: that is how a group recovers by itself when members
// come back. Must never touch a member whose data lives in an emptyDir.
import type { Context, Step, StepResult } from '../context.ts';
import { configMembers, voterNames } from '../context.ts';
import { ensureMemberObjects } from '../operation.ts';

export const recover: Step = {
  name: 'recover',
  run(ctx: Context): StepResult | undefined {
    if (!ctx.spec?.storage) return undefined;
    for (const m of configMembers(ctx)) {
      if (!m.pvc) continue;
      if (!m.pod) {
        ctx.events.push({ type: 'Normal', reason: 'MemberRecreated', message: `recreating pod ${m.name} on its volume ${m.pvc.metadata?.name}` });
        return ensureMemberObjects(ctx, m.name, 'existing', voterNames(ctx));
      }
      const phase = m.pod.status?.phase;
      if ((phase === 'Failed' || phase === 'Succeeded') && !m.pod.metadata?.deletionTimestamp) {
        return {
          action: {
            kind: 'DeletePod',
            key: `DeletePod/${m.name}/${m.pod.metadata?.uid ?? ''}`,
            description: `delete ${phase} pod ${m.name} so it is recreated on its volume`,
            name: m.name,
            uid: m.pod.metadata?.uid,
            reason: 'Recover',
          },
          requeueAfterMs: ctx.options.requeue.busy,
        };
      }
    }
    return undefined;
  },
};

export const quorumGate: Step = {
  name: 'quorum-gate',
  run(ctx: Context): StepResult | undefined {
    if (ctx.quorate && ctx.view.configSource === 'leader') return undefined;
    // No healthy quorum (or no leader to ask): report, and change nothing.
    return { requeueAfterMs: ctx.quorate ? ctx.options.requeue.busy : ctx.options.requeue.quorumLost };
  },
};
