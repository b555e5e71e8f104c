// The first steps of every pass: tear down a group being deleted (then drop
// the finalizer), make sure the finalizer is there, stop on an invalid spec
// (InvalidSpec, nothing created or changed), stop while paused. Must never
// let a later step run for a deleted, invalid or paused group.
import { LABEL_RETAINED, FINALIZER } from '../names.ts';
import type { Context, Step, StepResult } from '../context.ts';

export const teardown: Step = {
  name: 'teardown',
  run(ctx: Context): StepResult | undefined {
    if (!ctx.group.metadata.deletionTimestamp) return undefined;
    if (!(ctx.group.metadata.finalizers ?? []).includes(FINALIZER)) return { requeueAfterMs: ctx.options.requeue.steady };
    for (const pod of ctx.obs.pods) {
      if (pod.metadata?.deletionTimestamp) continue;
      const name = pod.metadata!.name!;
      return {
        action: { kind: 'DeletePod', key: `DeletePod/${name}/${pod.metadata?.uid ?? ''}`, description: `tear down pod ${name}`, name, uid: pod.metadata?.uid, reason: 'Teardown' },
        requeueAfterMs: ctx.options.requeue.busy,
      };
    }
    for (const pvc of ctx.obs.pvcs) {
      if (pvc.metadata?.deletionTimestamp || pvc.metadata?.labels?.[LABEL_RETAINED]) continue;
      const name = pvc.metadata!.name!;
      return {
        action: { kind: 'DeletePVC', key: `DeletePVC/${name}/${pvc.metadata?.uid ?? ''}`, description: `tear down volume ${name}`, name, uid: pvc.metadata?.uid, reason: 'Teardown' },
        requeueAfterMs: ctx.options.requeue.busy,
      };
    }
    ctx.events.push({ type: 'Normal', reason: 'TornDown', message: 'members and volumes deleted; Services and the PodDisruptionBudget go with the group' });
    return { action: { kind: 'RemoveFinalizer', key: 'RemoveFinalizer', description: 'remove the teardown finalizer', finalizer: FINALIZER }, requeueAfterMs: ctx.options.requeue.steady };
  },
};

export const finalizer: Step = {
  name: 'finalizer',
  run(ctx: Context): StepResult | undefined {
    if ((ctx.group.metadata.finalizers ?? []).includes(FINALIZER)) return undefined;
    return { action: { kind: 'AddFinalizer', key: 'AddFinalizer', description: 'add the teardown finalizer', finalizer: FINALIZER }, requeueAfterMs: ctx.options.requeue.busy };
  },
};

export const invalidSpec: Step = {
  name: 'invalid-spec',
  run(ctx: Context): StepResult | undefined {
    if (ctx.specErrors.length === 0) return undefined;
    // This generation has been looked at: it is invalid. Nothing is created or changed.
    ctx.status.observedGeneration = ctx.generation;
    return { requeueAfterMs: ctx.options.requeue.steady };
  },
};

export const paused: Step = {
  name: 'paused',
  run(ctx: Context): StepResult | undefined {
    return ctx.spec?.paused ? { requeueAfterMs: ctx.options.requeue.steady } : undefined;
  },
};
