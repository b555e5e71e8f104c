// The planner: one pure function from Observed to Plan. It runs an ordered
// list of small idempotent steps over the pass's Context (etcd-druid /
// CloudNativePG style); the first step that acts or waits ends the pass. Then
// the chosen action is checked by the guard, and the status draft is filled in.
// Must never perform I/O, read the clock or keep state between calls.
import type { Plan } from './actions.ts';
import { buildContext, type Step, type StepResult } from './context.ts';
import { checkAction } from './guard.ts';
import type { Observed } from './observed.ts';
import { withDefaults, type PlannerOptions } from './options.ts';
import { finishStatus, transitionEvents } from './status.ts';
import { finalizer, invalidSpec, paused, teardown } from './steps/lifecycle.ts';
import { scaleDown, replaceFaulty, scaleUp } from './steps/membership.ts';
import { services } from './steps/objects.ts';
import { certificates } from './steps/certificates.ts';
import { bootstrap, operation } from './steps/operation.ts';
import { quorumGate, recover } from './steps/recover.ts';
import { rollingUpdate, steady } from './steps/rollout.ts';
import { strays } from './steps/strays.ts';

/**
 * STEPS in order. Before the quorum gate only non-destructive work (or an
 * in-flight operation, which checks quorum itself) may happen.
 */
export const STEPS: readonly Step[] = [
  teardown,
  invalidSpec,
  finalizer,
  paused,
  services,
  certificates,
  bootstrap,
  operation,
  recover,
  quorumGate,
  strays,
  scaleDown,
  replaceFaulty,
  scaleUp,
  rollingUpdate,
  steady,
];

/** plan decides the status to write and at most one next action for a group. */
export function plan(observed: Observed, options?: Partial<PlannerOptions>): Plan {
  const opts = withDefaults(options);
  const ctx = buildContext(observed, opts);
  let result: StepResult = { requeueAfterMs: opts.requeue.steady };
  let step = 'none';
  for (const s of STEPS) {
    const r = s.run(ctx);
    if (r) {
      result = r;
      step = s.name;
      break;
    }
  }
  let action = result.action;
  const verdict = checkAction(ctx, action);
  if (!verdict.ok) {
    ctx.events.push({ type: 'Warning', reason: 'SafetyVeto', message: `refused ${action!.description}: ${verdict.reason}` });
    action = undefined;
  }
  if (action) ctx.events.push({ type: 'Normal', reason: action.kind, message: action.description });
  finishStatus(ctx);
  const events = [...ctx.events, ...transitionEvents(ctx, ctx.prev, ctx.status)];
  let requeueAfterMs = result.requeueAfterMs ?? opts.requeue.steady;
  for (const h of ctx.health.values()) {
    if (h.health === 'Unhealthy' && !h.faulty && h.faultyAt !== undefined) {
      requeueAfterMs = Math.min(requeueAfterMs, Math.max(1000, h.faultyAt - ctx.now));
    }
  }
  return { status: ctx.status, action, events, requeueAfterMs, step };
}
