// Starts membership changes toward the spec, in this order: scale down
// (remove voters, never the leader, unhealthy ones first, then the highest
// ordinals), replace faulty members (failurePolicy), scale up (add learners,
// promoted together in one joint change). Each starts an operation only when
// the safety rules allow it now, then takes its first step. Must never start
// a change while another is in flight (the operation step runs first).
import { formatDuration } from '../../api/index.ts';
import type { Context, Step, StepResult } from '../context.ts';
import { allocateNames } from '../context.ts';
import { operationMember, startOperation } from '../operation.ts';
import { quorumIsHealthy, removalKeepsQuorum } from '../safety.ts';
import { millis } from '../time.ts';
import type { MemberView } from '../view.ts';
import { driveMembership } from './drive-membership.ts';

function voters(ctx: Context): MemberView[] {
  return ctx.view.config!.voters.map((id) => ctx.view.members.get(ctx.view.nameOf(id))!).filter(Boolean);
}

function backingOff(ctx: Context): StepResult | undefined {
  const until = millis(ctx.status.backoff?.notBefore);
  if (until !== undefined && until > ctx.now) return { requeueAfterMs: until - ctx.now };
  return undefined;
}

export const scaleDown: Step = {
  name: 'scale-down',
  run(ctx: Context): StepResult | undefined {
    const cfg = ctx.view.config!;
    const desired = ctx.spec!.replicas;
    if (cfg.voters.length <= desired) return undefined;
    const n = cfg.voters.length - desired;
    const rank = (m: MemberView) => {
      const h = ctx.health.get(m.name);
      return h?.faulty ? 0 : h?.health === 'Unhealthy' ? 1 : 2;
    };
    const candidates = voters(ctx)
      .filter((m) => m.id !== ctx.view.leaderId)
      .sort((a, b) => rank(a) - rank(b) || (b.ordinal ?? -1) - (a.ordinal ?? -1));
    const victims = candidates.slice(0, n);
    const remove = victims.map((m) => m.id!);
    for (const v of [quorumIsHealthy(cfg, ctx.healthy), removalKeepsQuorum(cfg, { remove }, ctx.healthy)]) {
      if (!v.ok) {
        // Not now; replacing faulty members (the next step) may make it possible.
        ctx.events.push({ type: 'Warning', reason: 'ScaleDownBlocked', message: `cannot scale ${cfg.voters.length} -> ${desired} now: ${v.reason}` });
        return undefined;
      }
    }
    const op = startOperation(ctx, {
      type: 'ScaleDown',
      reason: `Scale${cfg.voters.length}To${desired}`,
      remove: victims.map((m) => operationMember(m, ctx.health.get(m.name)?.reason)),
    });
    ctx.events.push({ type: 'Normal', reason: 'ScalingDown', message: `removing ${victims.map((m) => m.name).join(', ')} (${cfg.voters.length} -> ${desired}) in one joint change` });
    return driveMembership(ctx, op);
  },
};

export const replaceFaulty: Step = {
  name: 'replace-faulty',
  run(ctx: Context): StepResult | undefined {
    const cfg = ctx.view.config!;
    const policy = ctx.spec!.failurePolicy;
    const faulty = voters(ctx)
      .filter((m) => ctx.health.get(m.name)?.faulty)
      .sort((a, b) => (ctx.health.get(a.name)!.faultyAt ?? 0) - (ctx.health.get(b.name)!.faultyAt ?? 0));
    if (faulty.length === 0 || policy.maxConcurrentReplacements === 0) return undefined;
    const wait = backingOff(ctx);
    if (wait) return wait;
    let pick = faulty.slice(0, policy.maxConcurrentReplacements);
    const allowed = (ms: MemberView[]) => removalKeepsQuorum(cfg, { remove: ms.map((m) => m.id!), add: ms.length }, ctx.healthy);
    while (pick.length > 1 && !allowed(pick).ok) pick = pick.slice(0, -1);
    for (const v of [quorumIsHealthy(cfg, ctx.healthy), allowed(pick)]) {
      if (!v.ok) {
        ctx.events.push({ type: 'Warning', reason: 'ReplacementBlocked', message: `cannot replace ${pick.map((m) => m.name).join(', ')} now: ${v.reason}` });
        return { requeueAfterMs: ctx.options.requeue.steady };
      }
    }
    const names = allocateNames(ctx, pick.length);
    const reasons = pick.map((m) => ctx.health.get(m.name)!.reason!);
    const op = startOperation(ctx, {
      type: 'Replace',
      reason: [...new Set(reasons)].join(','),
      add: names,
      remove: pick.map((m, i) => operationMember(m, reasons[i])),
    });
    for (const [i, m] of pick.entries()) {
      const h = ctx.health.get(m.name)!;
      const since = h.since !== undefined ? ` for ${formatDuration(ctx.now - h.since)}` : '';
      ctx.events.push({ type: 'Warning', reason: 'ReplacingMember', message: `${m.name} is faulty (${h.reason}${since}: ${h.message}); replacing it with ${names[i]}` });
    }
    return driveMembership(ctx, op);
  },
};

export const scaleUp: Step = {
  name: 'scale-up',
  run(ctx: Context): StepResult | undefined {
    const cfg = ctx.view.config!;
    const desired = ctx.spec!.replicas;
    if (cfg.voters.length >= desired) return undefined;
    const wait = backingOff(ctx);
    if (wait) return wait;
    const names = allocateNames(ctx, desired - cfg.voters.length);
    const op = startOperation(ctx, { type: 'ScaleUp', reason: `Scale${cfg.voters.length}To${desired}`, add: names });
    ctx.events.push({ type: 'Normal', reason: 'ScalingUp', message: `adding ${names.join(', ')} as learners, promoted together in one joint change (${cfg.voters.length} -> ${desired})` });
    return driveMembership(ctx, op);
  },
};
