// Starts a bootstrap for a brand-new group, and drives whatever operation is
// in flight (recorded in status) before anything else may start. Must never
// start a bootstrap when any trace of an existing group is seen.
import { memberName } from '../names.ts';
import type { Context, Step, StepResult } from '../context.ts';
import { startOperation } from '../operation.ts';
import { driveBootstrap } from './drive-bootstrap.ts';
import { driveMembership } from './drive-membership.ts';
import { driveRestart } from './drive-restart.ts';
import { ANNOTATION_CLUSTER_STATE } from '../names.ts';

/**
 * foundingFromPods reads the founding set back from the pods' --initial-cluster
 * when the status record of a bootstrap was lost: only if every pod is a
 * founding pod of that same set (a pod added later proves the group formed).
 */
function foundingFromPods(ctx: Context): string[] | undefined {
  let founding: string[] | undefined;
  for (const pod of ctx.obs.pods) {
    if (pod.metadata?.annotations?.[ANNOTATION_CLUSTER_STATE] !== 'new') return undefined;
    const arg = pod.spec?.containers?.[0]?.args?.find((a) => a.startsWith('--initial-cluster='));
    if (!arg) return undefined;
    const names = arg.slice('--initial-cluster='.length).split(',').map((p) => p.split('=')[0]);
    if (founding && founding.join(',') !== names.join(',')) return undefined;
    if (!names.includes(pod.metadata?.name ?? '')) return undefined;
    founding = names;
  }
  return founding;
}

export const bootstrap: Step = {
  name: 'bootstrap',
  run(ctx: Context): StepResult | undefined {
    if (ctx.status.operation) return undefined;
    if (ctx.view.configSource !== 'none' || (ctx.prev.members ?? []).some((m) => m.id)) return undefined;
    let founding: string[];
    if (ctx.obs.pods.length > 0 || ctx.obs.pvcs.length > 0) {
      // Something exists but no configuration is known: only a bootstrap whose record was lost can be resumed.
      const again = foundingFromPods(ctx);
      if (!again) return undefined;
      founding = again;
    } else {
      founding = Array.from({ length: ctx.spec!.replicas }, (_, i) => memberName(ctx.name, i));
    }
    ctx.status.nextOrdinal = Math.max(ctx.status.nextOrdinal ?? 0, founding.length);
    const op = startOperation(ctx, { type: 'Bootstrap', reason: 'NewGroup', founding });
    ctx.events.push({ type: 'Normal', reason: 'Bootstrapping', message: `creating ${founding.length} founding members: ${founding.join(', ')}` });
    return driveBootstrap(ctx, op);
  },
};

export const operation: Step = {
  name: 'operation',
  run(ctx: Context): StepResult | undefined {
    const op = ctx.status.operation;
    if (!op) return undefined;
    switch (op.type) {
      case 'Bootstrap':
        return driveBootstrap(ctx, op);
      case 'Restart':
        return driveRestart(ctx, op);
      default:
        return driveMembership(ctx, op);
    }
  },
};
