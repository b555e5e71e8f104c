// The ReplicaGroup v1alpha1 resource as plain TypeScript types: what users
// write in `spec` and what the operator reports in `status`. Field names here
// are the wire names of the CRD (crds/replicagroups.replicant.dev.yaml; a test
// checks the two agree). Must never hold behaviour: defaults live in
// defaults.ts, checks in validate.ts.
import type {
  V1Affinity,
  V1ResourceRequirements,
  V1Toleration,
  V1TopologySpreadConstraint,
} from '@kubernetes/client-node';

/** GROUP, VERSION, KIND and PLURAL name the custom resource in the API. */
export const GROUP = 'replicant.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'ReplicaGroup';
export const PLURAL = 'replicagroups';
export const SINGULAR = 'replicagroup';
export const SHORT_NAMES = ['rg'];
export const CATEGORIES = ['replicant'];

/** StorageSpec asks for one PersistentVolumeClaim per member; without it members use an emptyDir. */
export interface StorageSpec {
  /** size is a Kubernetes quantity, e.g. "1Gi". */
  size: string;
  storageClassName?: string;
}

/** FailurePolicy says when a member counts as faulty and how the operator replaces it. */
export interface FailurePolicy {
  /** unhealthyAfter is how long a member may look unhealthy before it is replaced (a duration such as "30s"). */
  unhealthyAfter?: string;
  /** maxConcurrentReplacements is how many faulty members one configuration change may replace (0 turns replacement off). */
  maxConcurrentReplacements?: number;
  /** replaceDivergent replaces a member whose state digest differs from the majority's at the same checkpoint. */
  replaceDivergent?: boolean;
  /** deleteDivergentData deletes a divergent member's volume; false keeps it (labelled) for inspection. */
  deleteDivergentData?: boolean;
  /** maxLagEntries is how far a member's applied index may trail the leader's commit index before it is Lagging. */
  maxLagEntries?: number;
  /** catchUpTimeout bounds how long a new learner may take to catch up before the change is rolled back (a duration). */
  catchUpTimeout?: string;
}

/** RaftTuning is passed to every member as flags; changing it rolls the members. */
export interface RaftTuning {
  heartbeatIntervalMs?: number;
  electionTimeoutMs?: number;
  snapshotCount?: number;
  checkpointInterval?: number;
}

/** ISSUER_KINDS are the cert-manager issuer kinds a Certificate may reference. */
export const ISSUER_KINDS = ['Issuer', 'ClusterIssuer'] as const;

/** IssuerRef names the cert-manager issuer that signs the group's certificates (cert-manager's ObjectReference). */
export interface IssuerRef {
  name: string;
  /** kind is Issuer (in the group's namespace, the default) or ClusterIssuer. */
  kind?: (typeof ISSUER_KINDS)[number];
  /** group is the issuer's API group (default cert-manager.io; external issuers have their own). */
  group?: string;
}

/**
 * CertManagerSpec has cert-manager issue the group's certificates: the
 * operator keeps one cert-manager.io/v1 Certificate per member, one for its
 * own client identity and one for the application client Secret; cert-manager
 * signs and renews them. The issuer must write ca.crt into the Secrets (the CA
 * and Vault issuers do; ACME does not apply: its certificates are for public
 * names and carry no client usage).
 */
export interface CertManagerSpec {
  issuerRef: IssuerRef;
  /** duration is each certificate's requested lifetime (a Go duration, at least 1h; cert-manager's default is 90 days). */
  duration?: string;
  /** renewBefore is how long before expiry cert-manager renews (a Go duration shorter than duration; default: cert-manager's, a third of the lifetime). */
  renewBefore?: string;
}

/**
 * TlsSpec turns on mutual TLS for a group (on by default): the operator runs a
 * CA for the group (or uses the one in caSecretName, or has cert-manager issue
 * through certManager), gives every member a
 * server and peer certificate, calls the admin API with its own client
 * certificate, and, when clientCertSecretName is set, writes an application
 * client certificate into that Secret.
 */
export interface TlsSpec {
  /** enabled: members speak https on the client and peer ports and require client certificates (default true). Fixed once the group has members. */
  enabled?: boolean;
  /** caSecretName names a Secret (type kubernetes.io/tls: tls.crt, tls.key) holding the CA to sign with; unset: the operator creates `<group>-ca`. */
  caSecretName?: string;
  /** clientCertSecretName names a Secret the operator fills with an application client certificate (tls.crt, tls.key, ca.crt). */
  clientCertSecretName?: string;
  /** certManager has cert-manager issue and renew the certificates instead of the operator's CA; exclusive with caSecretName, fixed once the group has members. */
  certManager?: CertManagerSpec;
}

export interface ReplicaGroupSpec {
  /** replicas is the number of voting members (odd, >= 1). Exclusive with faultTolerance. */
  replicas?: number;
  /** faultTolerance f asks for 2f+1 voting members. Exclusive with replicas. */
  faultTolerance?: number;
  image?: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  storage?: StorageSpec;
  resources?: V1ResourceRequirements;
  affinity?: V1Affinity;
  /** topologySpreadConstraints default to spreading members across nodes. */
  topologySpreadConstraints?: V1TopologySpreadConstraint[];
  nodeSelector?: Record<string, string>;
  tolerations?: V1Toleration[];
  failurePolicy?: FailurePolicy;
  raft?: RaftTuning;
  tls?: TlsSpec;
  /** paused stops every change the operator would make; status is still reported. */
  paused?: boolean;
}

/** ObjectMeta is the part of metav1.ObjectMeta the operator reads. Timestamps arrive as strings or Dates. */
export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string | Date;
  deletionTimestamp?: string | Date;
  finalizers?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ReplicaGroup {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: ReplicaGroupSpec;
  status?: ReplicaGroupStatus;
}

/** Phase is the one-word summary shown by kubectl. */
export type Phase =
  | 'Pending'
  | 'Bootstrapping'
  | 'Available'
  | 'Degraded'
  | 'Reconfiguring'
  | 'Updating'
  | 'QuorumLost'
  | 'Paused'
  | 'Invalid'
  | 'Deleting';

export const PHASES: readonly Phase[] = [
  'Pending', 'Bootstrapping', 'Available', 'Degraded', 'Reconfiguring', 'Updating', 'QuorumLost', 'Paused', 'Invalid', 'Deleting',
];

/** ConditionType lists the conditions the operator maintains. */
export type ConditionType =
  | 'Available'
  | 'Quorate'
  | 'Reconfiguring'
  | 'Degraded'
  | 'InvalidSpec'
  | 'DivergenceUnresolved'
  | 'RolloutStuck';

/** Condition has the shape of metav1.Condition. */
export interface Condition {
  type: ConditionType;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  /** lastTransitionTime is RFC 3339 and changes only when status changes. */
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export type MemberRole = 'Leader' | 'Follower' | 'Learner' | 'Candidate' | 'Unknown';

export const MEMBER_ROLES: readonly MemberRole[] = ['Leader', 'Follower', 'Learner', 'Candidate', 'Unknown'];

/**
 * MemberHealth is what status reports: Divergent is an unhealthy member whose state digest differs
 * from the majority's at the same checkpoint (a Byzantine symptom, not a crash), shown apart so
 * that `kubectl get` says it plainly.
 */
export type MemberHealth = 'Healthy' | 'Unhealthy' | 'Divergent' | 'Unknown';

export const MEMBER_HEALTHS: readonly MemberHealth[] = ['Healthy', 'Unhealthy', 'Divergent', 'Unknown'];

/** isUnhealthyStatus: a reported member that is not healthy (Unhealthy or Divergent). */
export function isUnhealthyStatus(m: { health: MemberHealth } | undefined): boolean {
  return m?.health === 'Unhealthy' || m?.health === 'Divergent';
}

/** HealthReason says why a member is unhealthy (DESIGN.md, "Faulty members"). */
export type HealthReason =
  | 'PodMissing'
  | 'PodFailed'
  | 'CrashLooping'
  | 'Starting'
  | 'NotReady'
  | 'NodeLost'
  | 'Lagging'
  | 'Divergent'
  | 'Unreachable';

export const HEALTH_REASONS: readonly HealthReason[] = [
  'PodMissing', 'PodFailed', 'CrashLooping', 'Starting', 'NotReady', 'NodeLost', 'Lagging', 'Divergent', 'Unreachable',
];

/** MemberStatus is one member as the operator last saw it. */
export interface MemberStatus {
  name: string;
  /** id is the raft member id in hex, as etcd prints it; empty until known. */
  id?: string;
  pod?: string;
  role: MemberRole;
  health: MemberHealth;
  appliedIndex?: number;
  /** lag is how many entries the member's applied index trails the leader's commit index. */
  lag?: number;
  reason?: HealthReason;
  message?: string;
  /** unhealthySince is when the member was first seen unhealthy (RFC 3339), so thresholds survive operator restarts. */
  unhealthySince?: string;
}

export interface ConfigurationStatus {
  /** voters are member names (C_new while joint). */
  voters: string[];
  /** outgoing is C_old while joint, empty otherwise. */
  outgoing: string[];
  learners: string[];
  joint: boolean;
}

export interface FaultToleranceStatus {
  /** desired is how many failures the spec asks to survive: (replicas-1)/2. */
  desired: number;
  /** current is how many member failures the group survives right now. */
  current: number;
}

/** OperationType names an in-flight topology change. */
export type OperationType = 'Bootstrap' | 'Replace' | 'ScaleUp' | 'ScaleDown' | 'RemoveLearners' | 'Restart';

export const OPERATION_TYPES: readonly OperationType[] = ['Bootstrap', 'Replace', 'ScaleUp', 'ScaleDown', 'RemoveLearners', 'Restart'];

/** OperationPhase is where an operation stands; it is re-derived from the real configuration on every pass. */
export type OperationPhase =
  | 'CreatingMembers'
  | 'TransferringLeadership'
  | 'ChangingMembership'
  | 'CleaningUp'
  | 'RollingBack'
  | 'WaitingForMember';

export const OPERATION_PHASES: readonly OperationPhase[] = [
  'CreatingMembers', 'TransferringLeadership', 'ChangingMembership', 'CleaningUp', 'RollingBack', 'WaitingForMember',
];

export interface OperationMember {
  name: string;
  /** id in hex when known. */
  id?: string;
  /** reason says why a member leaves (e.g. Divergent), so cleanup knows whether to keep its volume. */
  reason?: string;
}

/**
 * Operation is the in-flight topology change, recorded in status before its
 * first action so that a restarted operator resumes (or rolls back) it.
 */
export interface Operation {
  /** id is unique per group; request ids of ChangeMembership calls derive from it. */
  id: string;
  type: OperationType;
  /** reason says why (e.g. CrashLooping, RollingUpdate, ScaleUp). */
  reason: string;
  phase: OperationPhase;
  /** add are new members (fresh ids, empty data). */
  add: OperationMember[];
  /** remove are members leaving the configuration. */
  remove: OperationMember[];
  /** attempt counts ChangeMembership attempts; the request id is `${id}-${attempt}`. */
  attempt: number;
  startedAt: string;
  /** deadline: after it, an unfinished catch-up is rolled back (RFC 3339). */
  deadline: string;
  /** member is the member a Restart restarts. */
  member?: OperationMember;
  /** specHash is the pod template hash a Restart brings the member to. */
  specHash?: string;
  /** founding lists the initial configuration of a Bootstrap. */
  founding?: string[];
  message?: string;
}

/** Backoff delays the next replacement after one was rolled back. */
export interface BackoffStatus {
  attempts: number;
  notBefore: string;
  reason: string;
}

/** RolloutBlock stops a rolling update whose member failed to come back, until the spec changes. */
export interface RolloutBlock {
  specHash: string;
  member: string;
  reason: string;
}

export interface ReplicaGroupStatus {
  phase?: Phase;
  /** replicas is the number of voting members (the scale subresource's status replicas). */
  replicas?: number;
  readyReplicas?: number;
  /** selector is the label selector of member pods, as a string (scale subresource). */
  selector?: string;
  leader?: string;
  faultTolerance?: FaultToleranceStatus;
  configuration?: ConfigurationStatus;
  members?: MemberStatus[];
  conditions?: Condition[];
  observedGeneration?: number;
  operation?: Operation;
  backoff?: BackoffStatus;
  rolloutBlocked?: RolloutBlock;
  /** nextOrdinal is the ordinal the next new member gets; ordinals are never reused. */
  nextOrdinal?: number;
}
