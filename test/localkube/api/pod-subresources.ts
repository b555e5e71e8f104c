// The pods/binding and pods/eviction subresources: binding assigns an
// unscheduled pod to a node (the scheduler's write); eviction deletes a pod
// unless a PodDisruptionBudget covering it allows no disruption (429).
// It must never pick nodes or compute budgets: the scheduler and the PDB controller do.
import type { Api, DeleteOptions } from './rest.ts';
import type { ResourceType } from '../kinds/types.ts';
import { ApiError, badRequest, conflict } from './errors.ts';
import { fromMetaLabelSelector, matchesLabels } from './selectors.ts';
import { isPlainObject, nowTimestamp } from '../store/object.ts';
import { setCondition } from './conditions.ts';
import type { KubeObject } from '../store/object.ts';

/** bindPod sets spec.nodeName of an unscheduled pod (POST pods/NAME/binding). */
export function bindPod(api: Api, pods: ResourceType, namespace: string, name: string, body: unknown): KubeObject {
  if (!isPlainObject(body) || !isPlainObject(body.target) || typeof body.target.name !== 'string' || !body.target.name) {
    throw badRequest('a Binding needs target.name (the node)');
  }
  const node = body.target.name;
  const pod = api.get(pods, namespace, name);
  if (pod.spec?.nodeName) throw conflict('pods', '', name, `pod ${name} is already assigned to node "${pod.spec.nodeName}"`);
  if (pod.metadata.deletionTimestamp) throw conflict('pods', '', name, `pod ${name} is being deleted, cannot be assigned to a host`);
  const bound = api.mutate(pods, namespace, name, (p) => {
    p.spec.nodeName = node;
    setCondition((p.status.conditions ??= []), 'PodScheduled', 'True', undefined, undefined, nowTimestamp(api.clock), { lastProbeTime: null });
  });
  return bound!;
}

/** evictPod deletes a pod through the Eviction API, honouring PodDisruptionBudgets. */
export function evictPod(api: Api, pods: ResourceType, namespace: string, name: string, body: unknown): void {
  const pod = api.get(pods, namespace, name);
  const options: DeleteOptions = isPlainObject(body) && isPlainObject(body.deleteOptions) ? body.deleteOptions : {};
  const pdbType = api.kinds.byKind('policy', 'PodDisruptionBudget');
  const terminal = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
  if (pdbType && !terminal && !pod.metadata.deletionTimestamp) {
    const budgets = api
      .list(pdbType, namespace)
      .items.filter((b) => matchesLabels(fromMetaLabelSelector(b.spec?.selector ?? { matchLabels: {} }), pod.metadata.labels));
    if (budgets.length > 1) {
      throw new ApiError(500, 'InternalError', 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.');
    }
    const budget = budgets[0];
    if (budget) {
      if ((budget.status?.disruptionsAllowed ?? 0) < 1) {
        throw new ApiError(429, 'TooManyRequests', "Cannot evict pod as it would violate the pod's disruption budget.", {
          causes: [
            {
              reason: 'DisruptionBudget',
              message: `The disruption budget ${budget.metadata.name} needs ${budget.status?.desiredHealthy ?? 0} healthy pods and has ${budget.status?.currentHealthy ?? 0} currently`,
            },
          ],
        });
      }
      api.mutate(pdbType, namespace, budget.metadata.name, (b) => {
        b.status.disruptionsAllowed = (b.status.disruptionsAllowed ?? 1) - 1;
        b.status.disruptedPods = { ...(b.status.disruptedPods ?? {}), [name]: nowTimestamp(api.clock) };
      }, 'status');
    }
  }
  api.delete(pods, namespace, name, options);
}
