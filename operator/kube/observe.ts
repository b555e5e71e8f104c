// One observation pass for one ReplicaGroup: the group, the objects it owns
// (found by label), the nodes, and each running member's admin Status — the
// plain-data snapshot the planner decides from. Must never write anything.
import type * as k8s from '@kubernetes/client-node';
import { API_VERSION, GROUP, PLURAL, VERSION, type ReplicaGroup } from '../api/index.ts';
import { CLIENT_PORT, normalizeStatus, selectorString, type ActionFailure, type MemberProbe, type Observed } from '../reconcile/index.ts';
import { httpStatus, type KubeClients } from './client.ts';
import type { ReplicaAdmin } from './replica-admin.ts';

/** observe gathers everything about namespace/name; undefined when the group no longer exists. */
export async function observe(
  kube: KubeClients,
  admin: ReplicaAdmin,
  namespace: string,
  name: string,
  failures: ActionFailure[],
  now: () => number = Date.now,
): Promise<Observed | undefined> {
  let group: ReplicaGroup;
  try {
    group = (await kube.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL, name })) as ReplicaGroup;
  } catch (e) {
    if (httpStatus(e) === 404) return undefined;
    throw e;
  }
  if (!group.apiVersion) group.apiVersion = API_VERSION;
  const labelSelector = selectorString(name);
  const [pods, pvcs, services, pdbs, nodes] = await Promise.all([
    kube.core.listNamespacedPod({ namespace, labelSelector }),
    kube.core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector }),
    kube.core.listNamespacedService({ namespace, labelSelector }),
    kube.policy.listNamespacedPodDisruptionBudget({ namespace, labelSelector }),
    kube.core.listNode({}),
  ]);
  const probes: Record<string, MemberProbe> = {};
  await Promise.all(
    pods.items.map(async (p: k8s.V1Pod) => {
      const ip = p.status?.podIP;
      const podName = p.metadata?.name;
      if (!ip || !podName || p.status?.phase !== 'Running' || p.metadata?.deletionTimestamp) return;
      try {
        probes[podName] = { status: normalizeStatus(await admin.status(`${ip}:${CLIENT_PORT}`)) };
      } catch (e) {
        probes[podName] = { error: (e as Error).message };
      }
    }),
  );
  return {
    now: now(),
    group,
    pods: pods.items,
    pvcs: pvcs.items,
    services: services.items,
    pdbs: pdbs.items,
    nodes: nodes.items,
    probes,
    failures,
  };
}
