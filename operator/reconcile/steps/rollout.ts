// Rolling updates: members whose pod was built from other settings (image,
// resources, scheduling, raft tuning) are restarted one at a time, followers
// first (highest ordinal first), the leader last after a leadership transfer.
// With volumes a member restarts in place (data kept); with emptyDir it is
// replaced by a new member, since restarting would lose its data. A rollout
// that got stuck stays stopped (RolloutStuck) until the spec changes. Must
// never start while any member is unhealthy.
import type { Context, Step, StepResult } from '../context.ts';
import { allocateNames } from '../context.ts';
import { ANNOTATION_SPEC_HASH } from '../names.ts';
import { operationMember, startOperation } from '../operation.ts';
import { quorumIsHealthy, restartKeepsQuorum } from '../safety.ts';
import type { MemberView } from '../view.ts';
import { driveMembership } from './drive-membership.ts';
import { driveRestart } from './drive-restart.ts';

/** outdatedMembers are the voters whose live pod carries another spec hash. */
export function outdatedMembers(ctx: Context): MemberView[] {
  const cfg = ctx.view.config;
  if (!cfg || !ctx.specHash) return [];
  return cfg.voters
    .map((id) => ctx.view.members.get(ctx.view.nameOf(id)))
    .filter((m): m is MemberView => !!m?.pod && !m.pod.metadata?.deletionTimestamp)
    .filter((m) => m.pod!.metadata?.annotations?.[ANNOTATION_SPEC_HASH] !== ctx.specHash);
}

export const rollingUpdate: Step = {
  name: 'rolling-update',
  run(ctx: Context): StepResult | undefined {
    const outdated = outdatedMembers(ctx);
    const block = ctx.status.rolloutBlocked;
    if (block && block.specHash !== ctx.specHash) delete ctx.status.rolloutBlocked;
    if (outdated.length === 0) {
      delete ctx.status.rolloutBlocked;
      return undefined;
    }
    if (ctx.status.rolloutBlocked) return { requeueAfterMs: ctx.options.requeue.steady };
    const cfg = ctx.view.config!;
    const unhealthy = [...ctx.view.members.values()].filter(
      (m) => (m.isVoter || m.isLearner || m.isOutgoing) && ctx.health.get(m.name)?.health !== 'Healthy',
    );
    if (unhealthy.length > 0) return { requeueAfterMs: ctx.options.requeue.busy };
    const leader = ctx.view.leaderId;
    const ordered = [...outdated].sort((a, b) => Number(a.id === leader) - Number(b.id === leader) || (b.ordinal ?? -1) - (a.ordinal ?? -1));
    const target = ordered[0];
    for (const v of [quorumIsHealthy(cfg, ctx.healthy), restartKeepsQuorum(cfg, target.id, ctx.healthy)]) {
      if (!v.ok) return { requeueAfterMs: ctx.options.requeue.busy };
    }
    const progress = `${cfg.voters.length - outdated.length}/${cfg.voters.length} updated`;
    if (ctx.spec!.storage) {
      const op = startOperation(ctx, { type: 'Restart', reason: 'RollingUpdate', member: operationMember(target), specHash: ctx.specHash });
      ctx.events.push({ type: 'Normal', reason: 'RollingUpdate', message: `restarting ${target.name} with the new pod settings (${progress})` });
      return driveRestart(ctx, op);
    }
    const [name] = allocateNames(ctx, 1);
    const op = startOperation(ctx, {
      type: 'Replace',
      reason: 'RollingUpdate',
      add: [name],
      remove: [operationMember(target, 'RollingUpdate')],
      specHash: ctx.specHash,
    });
    ctx.events.push({ type: 'Normal', reason: 'RollingUpdate', message: `replacing ${target.name} by ${name} with the new pod settings (emptyDir data cannot survive a restart; ${progress})` });
    return driveMembership(ctx, op);
  },
};

export const steady: Step = {
  name: 'steady',
  run(ctx: Context): StepResult | undefined {
    // observedGeneration says "this generation is realized": only when it is.
    const cfg = ctx.view.config!;
    const converged = cfg.voters.length === ctx.spec!.replicas && !cfg.joint && cfg.learners.length === 0 && outdatedMembers(ctx).length === 0;
    if (converged) ctx.status.observedGeneration = ctx.generation;
    return { requeueAfterMs: ctx.options.requeue.steady };
  },
};
