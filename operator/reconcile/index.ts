// The public surface of operator/reconcile: the pure planner (Observed in,
// Plan out), the types the wiring exchanges with it, the object builders and
// the safety rules. Must never perform I/O; operator/kube does that.
export { plan, STEPS } from './planner.ts';
export type { Observed, MemberProbe, ActionFailure } from './observed.ts';
export type { Action, ActionKind, GroupEvent, Plan, CertificateRequestSpec } from './actions.ts';
export { isDestructive } from './actions.ts';
export type {
  AdminStatus,
  AdminMember,
  AdminConfiguration,
  AdminCheckpoint,
  AdminPeerProgress,
  ChangeMembershipRequest,
  TransferLeadershipRequest,
  MemberSpecRequest,
} from './admin.ts';
export { normalizeStatus, hexId, parseHexId } from './admin.ts';
export { DEFAULT_OPTIONS, withDefaults, type PlannerOptions } from './options.ts';
export * from './names.ts';
export { buildMemberPod, buildMemberPvc, podSpecHash, replicaArgs, defaultSpread, type MemberPodInput } from './pod.ts';
export { buildPeerService, buildClientService, buildPdb, buildPeerNetworkPolicy } from './services.ts';
export { classifyMember, podReady, nodeReady, type HealthInput, type HealthVerdict } from './health.ts';
export { voteOnCheckpoints, type DivergenceVerdict, type DivergentMember, type CheckpointReport } from './divergence.ts';
export { quorumSize, hasHealthyQuorum, currentFaultTolerance, type Configuration } from './quorum.ts';
export * from './safety.ts';
export { millis, rfc3339 } from './time.ts';
export {
  CA_CERT,
  TLS_CERT,
  TLS_KEY,
  LEAF_VALIDITY_DAYS,
  secretText,
  memberCertificate,
  operatorCertificate,
  applicationCertificate,
  certificateProblem,
  checkCA,
  tlsModeErrors,
  type CertificatePurpose,
} from './certificates.ts';
export {
  CERT_MANAGER_GROUP,
  CERT_MANAGER_VERSION,
  CERTIFICATE_PLURAL,
  CERTIFICATE_KIND,
  ANNOTATION_CERTIFICATE_NAME,
  USAGES,
  desiredCertificate,
  issuedSecretProblem,
  type CertManagerCertificate,
  type CertManagerCertificateSpec,
} from './cert-manager.ts';
