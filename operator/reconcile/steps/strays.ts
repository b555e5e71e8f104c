// Clears what belongs to no operation: a joint configuration left behind, learners
// nobody is promoting (a wedged learner would otherwise block every later
// change), and pods or volumes of members that are no longer in the
// configuration. Runs only with a healthy quorum and a leader's view. Must
// never delete anything some reachable member still lists as a member.
import type { Context, Step, StepResult } from '../context.ts';
import { inConfiguration, operationMember, startOperation } from '../operation.ts';
import { driveMembership } from './drive-membership.ts';

/** listedAnywhere: some reachable member lists this id or name in its configuration or member table. */
function listedAnywhere(ctx: Context, name: string, id: number | undefined): boolean {
  for (const m of ctx.view.members.values()) {
    const s = m.status;
    if (!s) continue;
    const c = s.configuration;
    if (id !== undefined && [...c.voters, ...c.votersOutgoing, ...c.learners, ...c.learnersNext].includes(id)) return true;
    if (s.members.some((x) => (id !== undefined && x.id === id) || (x.name !== '' && x.name === name))) return true;
  }
  return false;
}

export const strays: Step = {
  name: 'strays',
  run(ctx: Context): StepResult | undefined {
    const cfg = ctx.view.config!;
    if (cfg.joint) {
      const op = startOperation(ctx, { type: 'RemoveLearners', reason: 'UnfinishedJointChange' });
      ctx.events.push({ type: 'Warning', reason: 'UnfinishedChange', message: 'the configuration is joint with no operation recorded; finishing the change' });
      return driveMembership(ctx, op);
    }
    if (cfg.learners.length > 0) {
      const learners = cfg.learners.map((id) => ctx.view.members.get(ctx.view.nameOf(id))!).filter(Boolean);
      const op = startOperation(ctx, { type: 'RemoveLearners', reason: 'StrayLearner', remove: learners.map((m) => operationMember(m, 'StrayLearner')) });
      ctx.events.push({ type: 'Warning', reason: 'StrayLearner', message: `learners ${learners.map((m) => m.name).join(', ')} belong to no operation; removing them` });
      return driveMembership(ctx, op);
    }
    for (const m of ctx.view.members.values()) {
      if (inConfiguration(ctx, m.id) || listedAnywhere(ctx, m.name, m.id)) continue;
      if (m.pod && !m.pod.metadata?.deletionTimestamp) {
        return {
          action: { kind: 'DeletePod', key: `DeletePod/${m.name}/${m.pod.metadata?.uid ?? ''}`, description: `delete pod ${m.name}: not a member`, name: m.name, uid: m.pod.metadata?.uid, reason: 'Cleanup' },
          requeueAfterMs: ctx.options.requeue.busy,
        };
      }
      if (m.pvc && !m.pod) {
        const name = m.pvc.metadata!.name!;
        return {
          action: { kind: 'DeletePVC', key: `DeletePVC/${name}/${m.pvc.metadata?.uid ?? ''}`, description: `delete volume ${name}: not a member`, name, uid: m.pvc.metadata?.uid, reason: 'Cleanup' },
          requeueAfterMs: ctx.options.requeue.busy,
        };
      }
    }
    return undefined;
  },
};
