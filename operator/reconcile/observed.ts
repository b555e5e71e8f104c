// Observed is everything the planner may know about one ReplicaGroup, as plain
// data gathered by the wiring in one pass: the group, the Kubernetes objects it
// owns, the nodes, each member's admin Status (or why it could not be read),
// recent action failures and the clock. Types only: must never hold behaviour.
import type {
  V1NetworkPolicy,
  V1Node,
  V1PersistentVolumeClaim,
  V1Pod,
  V1PodDisruptionBudget,
  V1Secret,
  V1Service,
} from '@kubernetes/client-node';
import type { ReplicaGroup } from '../api/index.ts';
import type { AdminStatus } from './admin.ts';
import type { CertManagerCertificate } from './cert-manager.ts';

/** MemberProbe is the result of calling Status on one member pod. */
export type MemberProbe = { status: AdminStatus } | { error: string };

/** ActionFailure reports that the action with this key failed recently (the wiring remembers them). */
export interface ActionFailure {
  key: string;
  message: string;
  /** at is when it failed, in milliseconds since the epoch. */
  at: number;
}

export interface Observed {
  /** now is the clock of this pass, in milliseconds since the epoch. */
  now: number;
  group: ReplicaGroup;
  /** pods are the group's pods (label replicant.dev/group=<name>), including terminating ones. */
  pods: V1Pod[];
  pvcs: V1PersistentVolumeClaim[];
  services: V1Service[];
  pdbs: V1PodDisruptionBudget[];
  /**
   * secrets are the group's certificate Secrets (label replicant.dev/group=<name>),
   * plus spec.tls.caSecretName and spec.tls.clientCertSecretName by name when they exist.
   * Absent: none were read (a group without TLS needs none).
   */
  secrets?: V1Secret[];
  /**
   * certificates are the group's cert-manager Certificates (label replicant.dev/group=<name>), read only
   * when spec.tls.certManager is set. Absent then: they could not be listed (certificatesError says why,
   * e.g. cert-manager's CRD is not installed).
   */
  certificates?: CertManagerCertificate[];
  certificatesError?: string;
  /** networkPolicies are the group's NetworkPolicies (read only when the operator manages them). */
  networkPolicies?: V1NetworkPolicy[];
  /** nodes the member pods run on (all nodes is fine); a pod whose node is absent counts as on a lost node. */
  nodes: V1Node[];
  /** probes are keyed by pod name; a pod without an entry was not probed (not running, no IP). */
  probes: Record<string, MemberProbe>;
  failures?: ActionFailure[];
}
