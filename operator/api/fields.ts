// Runtime lists of every field name of the ReplicaGroup types, each checked
// at compile time to equal its TypeScript type's keys (`satisfies`), so the
// validator's unknown-field check and the CRD agreement test cannot drift from
// types.ts. Must never hold anything but field names.
import type {
  BackoffStatus,
  CertManagerSpec,
  IssuerRef,
  Condition,
  ConfigurationStatus,
  FailurePolicy,
  FaultToleranceStatus,
  MemberStatus,
  Operation,
  OperationMember,
  RaftTuning,
  ReplicaGroupSpec,
  ReplicaGroupStatus,
  RolloutBlock,
  StorageSpec,
  TlsSpec,
} from './types.ts';

/** SPEC_FIELDS lists the fields of spec (checked against the TS type and the CRD). */
export const SPEC_FIELDS = {
  replicas: true,
  faultTolerance: true,
  image: true,
  imagePullPolicy: true,
  storage: true,
  resources: true,
  affinity: true,
  topologySpreadConstraints: true,
  nodeSelector: true,
  tolerations: true,
  failurePolicy: true,
  raft: true,
  tls: true,
  paused: true,
} as const satisfies Record<keyof ReplicaGroupSpec, true>;

export const TLS_FIELDS = {
  enabled: true,
  caSecretName: true,
  clientCertSecretName: true,
  certManager: true,
} as const satisfies Record<keyof TlsSpec, true>;

export const CERT_MANAGER_FIELDS = { issuerRef: true, duration: true, renewBefore: true } as const satisfies Record<keyof CertManagerSpec, true>;

export const ISSUER_REF_FIELDS = { name: true, kind: true, group: true } as const satisfies Record<keyof IssuerRef, true>;

export const STORAGE_FIELDS = { size: true, storageClassName: true } as const satisfies Record<keyof StorageSpec, true>;

export const FAILURE_POLICY_FIELDS = {
  unhealthyAfter: true,
  maxConcurrentReplacements: true,
  replaceDivergent: true,
  deleteDivergentData: true,
  maxLagEntries: true,
  catchUpTimeout: true,
} as const satisfies Record<keyof FailurePolicy, true>;

export const RAFT_FIELDS = {
  heartbeatIntervalMs: true,
  electionTimeoutMs: true,
  snapshotCount: true,
  checkpointInterval: true,
} as const satisfies Record<keyof RaftTuning, true>;

export const STATUS_FIELDS = {
  phase: true,
  replicas: true,
  readyReplicas: true,
  selector: true,
  leader: true,
  faultTolerance: true,
  configuration: true,
  members: true,
  conditions: true,
  observedGeneration: true,
  operation: true,
  backoff: true,
  rolloutBlocked: true,
  nextOrdinal: true,
} as const satisfies Record<keyof ReplicaGroupStatus, true>;

export const FAULT_TOLERANCE_FIELDS = { desired: true, current: true } as const satisfies Record<keyof FaultToleranceStatus, true>;

export const CONFIGURATION_FIELDS = { voters: true, outgoing: true, learners: true, joint: true } as const satisfies Record<
  keyof ConfigurationStatus,
  true
>;

export const MEMBER_FIELDS = {
  name: true,
  id: true,
  pod: true,
  role: true,
  health: true,
  appliedIndex: true,
  lag: true,
  reason: true,
  message: true,
  unhealthySince: true,
} as const satisfies Record<keyof MemberStatus, true>;

export const CONDITION_FIELDS = {
  type: true,
  status: true,
  observedGeneration: true,
  lastTransitionTime: true,
  reason: true,
  message: true,
} as const satisfies Record<keyof Condition, true>;

export const OPERATION_FIELDS = {
  id: true,
  type: true,
  reason: true,
  phase: true,
  add: true,
  remove: true,
  attempt: true,
  startedAt: true,
  deadline: true,
  member: true,
  specHash: true,
  founding: true,
  message: true,
} as const satisfies Record<keyof Operation, true>;

export const OPERATION_MEMBER_FIELDS = { name: true, id: true, reason: true } as const satisfies Record<keyof OperationMember, true>;

export const BACKOFF_FIELDS = { attempts: true, notBefore: true, reason: true } as const satisfies Record<keyof BackoffStatus, true>;

export const ROLLOUT_BLOCK_FIELDS = { specHash: true, member: true, reason: true } as const satisfies Record<keyof RolloutBlock, true>;
