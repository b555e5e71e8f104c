// The last line of defence: the chosen action is checked against the safety
// rules once more, with the facts of this pass, before it leaves the planner.
// Steps are written to never propose what this refuses; a refusal here is a
// bug and is reported as a SafetyVeto Warning Event instead of acted on.
// Must never propose an action of its own.
import type { Action } from './actions.ts';
import { isDestructive } from './actions.ts';
import type { Context } from './context.ts';
import { inConfiguration } from './operation.ts';
import {
  learnerCaughtUp,
  leaderNotRemoved,
  nothingDestructiveWithoutQuorum,
  quorumIsHealthy,
  removalKeepsQuorum,
  restartKeepsQuorum,
  type Verdict,
} from './safety.ts';

const OK: Verdict = { ok: true };

/** checkAction returns why `action` must not be taken now, or ok. */
export function checkAction(ctx: Context, action: Action | undefined): Verdict {
  if (!action) return OK;
  if (ctx.group.metadata.deletionTimestamp) return OK; // teardown deletes everything by design
  const cfg = ctx.view.config;
  const v = nothingDestructiveWithoutQuorum(isDestructive(action), ctx.quorate);
  if (!v.ok) return v;
  switch (action.kind) {
    case 'ChangeMembership': {
      const r = action.request;
      const checks = [
        quorumIsHealthy(cfg, ctx.healthy),
        removalKeepsQuorum(cfg!, { remove: r.remove, promote: r.promote, add: r.add.length }, ctx.healthy),
        leaderNotRemoved(ctx.view.leaderId, r.remove),
        ...r.promote.map((id) => learnerCaughtUp(id, cfg!, ctx.view.leaderStatus, ctx.spec?.failurePolicy.maxLagEntries ?? 0)),
      ];
      return checks.find((c) => !c.ok) ?? OK;
    }
    case 'TransferLeadership':
      return quorumIsHealthy(cfg, ctx.healthy);
    case 'DeletePod': {
      const m = ctx.view.members.get(action.name);
      if (action.reason === 'Recover') {
        const phase = m?.pod?.status?.phase;
        if (!m?.pvc || (phase !== 'Failed' && phase !== 'Succeeded')) return { ok: false, reason: `pod ${action.name} is not a Failed pod with a volume` };
        return OK;
      }
      if (action.reason === 'Cleanup' && inConfiguration(ctx, m?.id)) return { ok: false, reason: `${action.name} is still in the configuration` };
      if (action.reason === 'Restart') return restartKeepsQuorum(cfg!, m?.id, ctx.healthy);
      return OK;
    }
    case 'DeletePVC': {
      const m = [...ctx.view.members.values()].find((x) => x.pvc?.metadata?.name === action.name);
      if (m && inConfiguration(ctx, m.id)) return { ok: false, reason: `volume ${action.name} belongs to ${m.name}, still in the configuration` };
      return OK;
    }
    default:
      return OK;
  }
}
