// What a planning pass returns: the status to write, at most one action, the
// Events to emit and when to look again. Every action is idempotent when
// repeated (creates tolerate AlreadyExists, deletes tolerate NotFound and carry
// the uid they mean, ChangeMembership carries a request id), and has a `key`
// the wiring uses to report its failure back in Observed.failures.
// Types and the destructive classification only: must never plan.
import type { V1NetworkPolicy, V1ObjectMeta, V1OwnerReference, V1PersistentVolumeClaim, V1Pod, V1PodDisruptionBudget, V1Service } from '@kubernetes/client-node';
import type { ReplicaGroupStatus } from '../api/index.ts';
import type { ChangeMembershipRequest, TransferLeadershipRequest } from './admin.ts';
import type { CertManagerCertificate } from './cert-manager.ts';

/** CertificateRequestSpec is what a certificate must say; the wiring generates the key and signs it. */
export interface CertificateRequestSpec {
  profile: 'server' | 'client' | 'peer';
  commonName: string;
  organization?: string;
  dnsNames: string[];
  ipAddresses: string[];
  validityDays: number;
}

interface Base {
  /** key identifies this action for failure reports (stable across passes for the same intent). */
  key: string;
  /** description is one line for logs. */
  description: string;
}

export type Action =
  | (Base & { kind: 'AddFinalizer'; finalizer: string })
  | (Base & { kind: 'RemoveFinalizer'; finalizer: string })
  | (Base & { kind: 'CreatePVC'; pvc: V1PersistentVolumeClaim })
  | (Base & { kind: 'CreatePod'; pod: V1Pod })
  | (Base & { kind: 'CreateService'; service: V1Service })
  /** UpdateService patches the spec fields the operator owns (selector, ports, publishNotReadyAddresses). */
  | (Base & { kind: 'UpdateService'; service: V1Service })
  | (Base & { kind: 'CreatePodDisruptionBudget'; pdb: V1PodDisruptionBudget })
  | (Base & { kind: 'UpdatePodDisruptionBudget'; pdb: V1PodDisruptionBudget })
  | (Base & { kind: 'CreateNetworkPolicy'; policy: V1NetworkPolicy })
  /** UpdateNetworkPolicy patches the policy's spec. */
  | (Base & { kind: 'UpdateNetworkPolicy'; policy: V1NetworkPolicy })
  /** ChangeMembership calls the admin API of `member` (the leader's pod). */
  | (Base & { kind: 'ChangeMembership'; member: string; request: ChangeMembershipRequest })
  /** TransferLeadership calls the admin API of `member` (the current leader's pod); `target` names the new leader. */
  | (Base & { kind: 'TransferLeadership'; member: string; target: string; request: TransferLeadershipRequest })
  /**
   * DeletePod deletes a pod with a uid precondition. reason Recover: the pod
   * already Failed and its volume keeps the data (it is recreated); Restart:
   * a rolling update; Cleanup: the member left the configuration; Teardown.
   */
  | (Base & { kind: 'DeletePod'; name: string; uid?: string; reason: 'Recover' | 'Restart' | 'Cleanup' | 'Teardown' })
  | (Base & { kind: 'DeletePVC'; name: string; uid?: string; reason: 'Cleanup' | 'Teardown' })
  /** CreateCertificateAuthority generates a CA and creates the Secret `metadata` (type kubernetes.io/tls) with it. */
  | (Base & { kind: 'CreateCertificateAuthority'; metadata: V1ObjectMeta; commonName: string; validityDays: number })
  /**
   * IssueCertificate signs a new certificate (fresh key) with the CA in Secret
   * `caSecret` and writes tls.crt, tls.key and ca.crt into the Secret
   * `metadata`: created when `resourceVersion` is unset, else replaced with
   * that resourceVersion as a precondition (a conflict fails the action).
   */
  | (Base & { kind: 'IssueCertificate'; metadata: V1ObjectMeta; resourceVersion?: string; caSecret: string; certificate: CertificateRequestSpec; reason: string })
  /** DeleteSecret deletes a certificate Secret the group no longer needs (uid precondition). */
  | (Base & { kind: 'DeleteSecret'; name: string; uid?: string })
  /** CreateCertificate creates a cert-manager.io/v1 Certificate (spec.tls.certManager); cert-manager then writes its Secret. */
  | (Base & { kind: 'CreateCertificate'; certificate: CertManagerCertificate })
  /** UpdateCertificate replaces the spec of an existing Certificate at `resourceVersion` (a conflict fails the action); cert-manager reissues. */
  | (Base & { kind: 'UpdateCertificate'; certificate: CertManagerCertificate; resourceVersion?: string })
  /** DeleteCertificate deletes a Certificate the group no longer needs (uid precondition); its Secret is deleted afterwards. */
  | (Base & { kind: 'DeleteCertificate'; name: string; uid?: string })
  /** AdoptSecret adds `ownerReferences` (the existing ones plus the group) to a Secret cert-manager wrote, at `resourceVersion`, so it goes with the group. */
  | (Base & { kind: 'AdoptSecret'; name: string; resourceVersion?: string; ownerReferences: V1OwnerReference[] })
  /** RetainPVC labels a removed member's volume and drops its owner reference, so it outlives the group for inspection. */
  | (Base & { kind: 'RetainPVC'; name: string; labels: Record<string, string> });

export type ActionKind = Action['kind'];

/** GroupEvent is a core/v1 Event about the group (the wiring fills involvedObject). */
export interface GroupEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface Plan {
  /** status is the whole status to write (before the action: if the write fails, do not act). */
  status: ReplicaGroupStatus;
  action?: Action;
  events: GroupEvent[];
  /** requeueAfterMs: reconcile again after this long even if nothing is watched to change. */
  requeueAfterMs: number;
  /** step names the step that decided, for logs and metrics. */
  step: string;
}

/**
 * isDestructive says whether an action could lower the group's availability
 * or lose data: any membership change or leadership transfer, deleting a
 * volume, deleting a pod that might still be running. Deleting a pod that has
 * already Failed but whose volume keeps the data (reason Recover) is not: it is
 * how such a member comes back, also while quorum is lost.
 */
export function isDestructive(action: Action | undefined): boolean {
  if (!action) return false;
  switch (action.kind) {
    case 'ChangeMembership':
    case 'TransferLeadership':
    case 'DeletePVC':
      return true;
    case 'DeletePod':
      return action.reason !== 'Recover';
    default:
      return false;
  }
}
