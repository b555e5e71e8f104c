// One observation pass for one ReplicaGroup: the group, the objects it owns
// (found by label; Secrets too, plus the CA and application Secrets its spec
// names), the nodes, and each running member's admin Status (over TLS with
// the operator's certificate when the member speaks TLS) — the plain-data
// snapshot the planner decides from. Must never write anything.
import type * as k8s from '@kubernetes/client-node';
import { API_VERSION, GROUP, PLURAL, VERSION, type ReplicaGroup } from '../api/index.ts';
import { normalizeStatus, selectorString, type ActionFailure, type CertManagerCertificate, type MemberProbe, type Observed } from '../reconcile/index.ts';
import { CERTIFICATES } from './cert-manager-api.ts';
import { adminTarget } from './admin-target.ts';
import { describeError, httpStatus, ignoreStatus, type KubeClients } from './client.ts';
import type { ReplicaAdmin } from './replica-admin.ts';

/** observe gathers everything about namespace/name; undefined when the group no longer exists. */
export async function observe(
  kube: KubeClients,
  admin: ReplicaAdmin,
  namespace: string,
  name: string,
  failures: ActionFailure[],
  now: () => number = Date.now,
  clusterDomain = 'cluster.local',
  networkPolicies = false,
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
  const [pods, pvcs, services, pdbs, nodes, labelled] = await Promise.all([
    kube.core.listNamespacedPod({ namespace, labelSelector }),
    kube.core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector }),
    kube.core.listNamespacedService({ namespace, labelSelector }),
    kube.policy.listNamespacedPodDisruptionBudget({ namespace, labelSelector }),
    kube.core.listNode({}),
    kube.core.listNamespacedSecret({ namespace, labelSelector }),
  ]);
  const secrets: k8s.V1Secret[] = [...labelled.items];
  const policies = networkPolicies ? (await kube.networking.listNamespacedNetworkPolicy({ namespace, labelSelector })).items : undefined;
  const tls = (group.spec as { tls?: { enabled?: unknown; caSecretName?: unknown; clientCertSecretName?: unknown; certManager?: unknown } } | undefined)?.tls;
  // cert-manager's Certificates only when the group asks for them: the CRD may not even be installed.
  let certificates: CertManagerCertificate[] | undefined;
  let certificatesError: string | undefined;
  if (tls?.certManager && tls.enabled !== false) {
    try {
      certificates = ((await kube.custom.listNamespacedCustomObject({ ...CERTIFICATES, namespace, labelSelector })) as { items: CertManagerCertificate[] }).items;
    } catch (e) {
      certificatesError = httpStatus(e) === 404 ? 'the certificates.cert-manager.io API is not served: cert-manager is not installed' : describeError(e);
    }
  }
  // A Secret cert-manager wrote without the group's label (an issuer that ignores secretTemplate) is read by name.
  const certificateSecrets = (certificates ?? []).map((c) => c.spec?.secretName);
  for (const named of [tls?.caSecretName, tls?.clientCertSecretName, ...certificateSecrets]) {
    if (typeof named !== 'string' || !named || secrets.some((s) => s.metadata?.name === named)) continue;
    const s = await ignoreStatus(kube.core.readNamespacedSecret({ namespace, name: named }), 404);
    if (s) secrets.push(s);
  }
  const probes: Record<string, MemberProbe> = {};
  await Promise.all(
    pods.items.map(async (p: k8s.V1Pod) => {
      const ip = p.status?.podIP;
      const podName = p.metadata?.name;
      if (!ip || !podName || p.status?.phase !== 'Running' || p.metadata?.deletionTimestamp) return;
      try {
        probes[podName] = { status: normalizeStatus(await admin.status(adminTarget(group, p, secrets, clusterDomain))) };
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
    secrets,
    ...(certificates ? { certificates } : {}),
    ...(certificatesError ? { certificatesError } : {}),
    ...(policies ? { networkPolicies: policies } : {}),
    nodes: nodes.items,
    probes,
    failures,
  };
}
