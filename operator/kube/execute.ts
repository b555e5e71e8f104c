// Carries out one planned action against the API server or a member's admin
// API. Every action is idempotent: creates accept AlreadyExists, deletes accept
// NotFound and carry the uid they mean (a 409 means another object now has the
// name, which is fine), finalizer edits are guarded by resourceVersion, a
// reissued certificate replaces its Secret only at the resourceVersion planned
// from (a conflict fails the action; the next pass looks again).
// Must never choose an action: the planner did.
import { GROUP, PLURAL, VERSION, type ReplicaGroup } from '../api/index.ts';
import type { Action, Observed } from '../reconcile/index.ts';
import { adminTarget } from './admin-target.ts';
import { CERTIFICATES } from './cert-manager-api.ts';
import { caSecret, certificateSecret } from './certificate-secrets.ts';
import { ignoreStatus, type KubeClients } from './client.ts';
import type { AdminTarget, ReplicaAdmin } from './replica-admin.ts';

export async function execute(
  kube: KubeClients,
  admin: ReplicaAdmin,
  group: ReplicaGroup,
  observed: Pick<Observed, 'pods' | 'secrets'>,
  action: Action,
  clusterDomain = 'cluster.local',
): Promise<void> {
  const namespace = group.metadata!.namespace!;
  const podAddress = (member: string): AdminTarget => {
    const pod = observed.pods.find((p) => p.metadata?.name === member);
    if (!pod) throw new Error(`pod ${member} not found to reach its admin API`);
    return adminTarget(group, pod, observed.secrets ?? [], clusterDomain);
  };
  switch (action.kind) {
    case 'AddFinalizer':
    case 'RemoveFinalizer': {
      const current = group.metadata?.finalizers ?? [];
      const next = action.kind === 'AddFinalizer' ? [...new Set([...current, action.finalizer])] : current.filter((f) => f !== action.finalizer);
      await kube.custom.patchNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        name: group.metadata!.name!,
        body: [
          { op: 'test', path: '/metadata/resourceVersion', value: group.metadata!.resourceVersion },
          { op: 'add', path: '/metadata/finalizers', value: next },
        ],
      });
      return;
    }
    case 'CreatePVC':
      await ignoreStatus(kube.core.createNamespacedPersistentVolumeClaim({ namespace, body: action.pvc }), 409);
      return;
    case 'CreatePod':
      await ignoreStatus(kube.core.createNamespacedPod({ namespace, body: action.pod }), 409);
      return;
    case 'CreateService':
      await ignoreStatus(kube.core.createNamespacedService({ namespace, body: action.service }), 409);
      return;
    case 'UpdateService': {
      const spec = action.service.spec!;
      await kube.core.patchNamespacedService({
        name: action.service.metadata!.name!,
        namespace,
        body: [
          { op: 'add', path: '/spec/selector', value: spec.selector ?? {} },
          { op: 'add', path: '/spec/ports', value: spec.ports ?? [] },
          { op: 'add', path: '/spec/publishNotReadyAddresses', value: spec.publishNotReadyAddresses ?? false },
        ],
      });
      return;
    }
    case 'CreateNetworkPolicy':
      await ignoreStatus(kube.networking.createNamespacedNetworkPolicy({ namespace, body: action.policy }), 409);
      return;
    case 'UpdateNetworkPolicy': {
      // A JSON patch body goes out as written: the model's `_from` must be the wire's `from`.
      const spec = action.policy.spec!;
      const wire = { ...spec, ingress: (spec.ingress ?? []).map(({ _from, ...rule }) => ({ ...rule, ...(_from ? { from: _from } : {}) })) };
      await kube.networking.patchNamespacedNetworkPolicy({ name: action.policy.metadata!.name!, namespace, body: [{ op: 'add', path: '/spec', value: wire }] });
      return;
    }
    case 'CreatePodDisruptionBudget':
      await ignoreStatus(kube.policy.createNamespacedPodDisruptionBudget({ namespace, body: action.pdb }), 409);
      return;
    case 'UpdatePodDisruptionBudget':
      await kube.policy.patchNamespacedPodDisruptionBudget({
        name: action.pdb.metadata!.name!,
        namespace,
        body: [{ op: 'add', path: '/spec', value: action.pdb.spec }],
      });
      return;
    case 'ChangeMembership':
      await admin.changeMembership(podAddress(action.member), action.request);
      return;
    case 'TransferLeadership':
      await admin.transferLeadership(podAddress(action.member), action.request);
      return;
    case 'DeletePod':
      await ignoreStatus(
        kube.core.deleteNamespacedPod({ name: action.name, namespace, body: action.uid ? { preconditions: { uid: action.uid } } : {} }),
        404,
        409,
      );
      return;
    case 'DeletePVC':
      await ignoreStatus(
        kube.core.deleteNamespacedPersistentVolumeClaim({ name: action.name, namespace, body: action.uid ? { preconditions: { uid: action.uid } } : {} }),
        404,
        409,
      );
      return;
    case 'CreateCertificateAuthority':
      await ignoreStatus(kube.core.createNamespacedSecret({ namespace, body: caSecret(action) }), 409);
      return;
    case 'IssueCertificate': {
      // The CA is read fresh: it holds the key, which the planner never sees in a log or status.
      const ca = await kube.core.readNamespacedSecret({ namespace, name: action.caSecret });
      const body = certificateSecret(action, ca);
      if (action.resourceVersion) {
        await kube.core.replaceNamespacedSecret({ namespace, name: action.metadata.name!, body });
      } else {
        await ignoreStatus(kube.core.createNamespacedSecret({ namespace, body }), 409);
      }
      return;
    }
    case 'DeleteSecret':
      await ignoreStatus(
        kube.core.deleteNamespacedSecret({ name: action.name, namespace, body: action.uid ? { preconditions: { uid: action.uid } } : {} }),
        404,
        409,
      );
      return;
    case 'CreateCertificate':
      await ignoreStatus(kube.custom.createNamespacedCustomObject({ ...CERTIFICATES, namespace, body: action.certificate }), 409);
      return;
    case 'UpdateCertificate': {
      // Guarded by the resourceVersion planned from; the spec is replaced whole, labels and owners are kept.
      const ops: object[] = action.resourceVersion ? [{ op: 'test', path: '/metadata/resourceVersion', value: action.resourceVersion }] : [];
      ops.push({ op: 'add', path: '/spec', value: action.certificate.spec });
      await kube.custom.patchNamespacedCustomObject({ ...CERTIFICATES, namespace, name: action.certificate.metadata!.name!, body: ops });
      return;
    }
    case 'DeleteCertificate':
      await ignoreStatus(
        kube.custom.deleteNamespacedCustomObject({ ...CERTIFICATES, namespace, name: action.name, body: action.uid ? { preconditions: { uid: action.uid } } : {} }),
        404,
        409,
      );
      return;
    case 'AdoptSecret': {
      const ops: object[] = action.resourceVersion ? [{ op: 'test', path: '/metadata/resourceVersion', value: action.resourceVersion }] : [];
      ops.push({ op: 'add', path: '/metadata/ownerReferences', value: action.ownerReferences });
      await ignoreStatus(kube.core.patchNamespacedSecret({ name: action.name, namespace, body: ops }), 404);
      return;
    }
    case 'RetainPVC': {
      const ops: object[] = [{ op: 'add', path: '/metadata/ownerReferences', value: [] }];
      for (const [k, v] of Object.entries(action.labels)) ops.push({ op: 'add', path: `/metadata/labels/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, value: v });
      await ignoreStatus(kube.core.patchNamespacedPersistentVolumeClaim({ name: action.name, namespace, body: ops }), 404);
      return;
    }
  }
}
