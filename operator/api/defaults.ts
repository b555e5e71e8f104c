// Defaults of the ReplicaGroup spec, and the resolved form the planner works
// with (every field present, durations in milliseconds, replicas decided).
// The same defaults appear in the CRD schema; a test keeps them equal.
// Must never validate: call validateSpec first and resolve only a valid spec.
import type {
  V1Affinity,
  V1ResourceRequirements,
  V1Toleration,
  V1TopologySpreadConstraint,
} from '@kubernetes/client-node';
import { parseDuration } from './duration.ts';
import type { IssuerRef, ReplicaGroupSpec, StorageSpec } from './types.ts';

export const DEFAULT_REPLICAS = 3;
export const DEFAULT_IMAGE = 'replicant:0.1.0';
export const DEFAULT_IMAGE_PULL_POLICY = 'IfNotPresent';

export const DEFAULT_FAILURE_POLICY = {
  unhealthyAfter: '30s',
  maxConcurrentReplacements: 1,
  replaceDivergent: true,
  deleteDivergentData: false,
  maxLagEntries: 10000,
  catchUpTimeout: '5m',
} as const;

/** DEFAULT_RAFT matches the replica's own flag defaults. */
export const DEFAULT_RAFT = {
  heartbeatIntervalMs: 100,
  electionTimeoutMs: 1000,
  snapshotCount: 100000,
  checkpointInterval: 1000,
} as const;

/** DEFAULT_TLS_ENABLED: groups speak mutual TLS unless spec.tls.enabled is false. */
export const DEFAULT_TLS_ENABLED = true;

/** DEFAULT_ISSUER_KIND and DEFAULT_ISSUER_GROUP complete spec.tls.certManager.issuerRef (cert-manager's own defaults). */
export const DEFAULT_ISSUER_KIND = 'Issuer';
export const DEFAULT_ISSUER_GROUP = 'cert-manager.io';

/** ResolvedCertManager is spec.tls.certManager with the issuer reference completed. */
export interface ResolvedCertManager {
  issuerRef: Required<IssuerRef>;
  duration?: string;
  renewBefore?: string;
}

/** ResolvedTls is spec.tls of a group with TLS on. */
export interface ResolvedTls {
  /** caSecretName is set when the user provides the CA; otherwise the operator's own `<group>-ca` is used. */
  caSecretName?: string;
  clientCertSecretName?: string;
  /** certManager is set when cert-manager issues the certificates (then there is no CA the operator signs with). */
  certManager?: ResolvedCertManager;
}

export interface ResolvedFailurePolicy {
  unhealthyAfterMs: number;
  maxConcurrentReplacements: number;
  replaceDivergent: boolean;
  deleteDivergentData: boolean;
  maxLagEntries: number;
  catchUpTimeoutMs: number;
}

export interface ResolvedRaft {
  heartbeatIntervalMs: number;
  electionTimeoutMs: number;
  snapshotCount: number;
  checkpointInterval: number;
}

/** ResolvedSpec is a valid spec with every default applied. */
export interface ResolvedSpec {
  replicas: number;
  image: string;
  imagePullPolicy: string;
  storage?: StorageSpec;
  resources?: V1ResourceRequirements;
  affinity?: V1Affinity;
  topologySpreadConstraints?: V1TopologySpreadConstraint[];
  nodeSelector?: Record<string, string>;
  tolerations?: V1Toleration[];
  failurePolicy: ResolvedFailurePolicy;
  raft: ResolvedRaft;
  /** tls is undefined when the group runs plaintext (spec.tls.enabled: false). */
  tls?: ResolvedTls;
  paused: boolean;
}

/** desiredReplicas is spec.replicas, else 2*faultTolerance+1, else the default. */
export function desiredReplicas(spec: ReplicaGroupSpec): number {
  if (spec.replicas !== undefined) return spec.replicas;
  if (spec.faultTolerance !== undefined) return 2 * spec.faultTolerance + 1;
  return DEFAULT_REPLICAS;
}

/** resolveSpec applies every default to a spec that validateSpec accepted. */
export function resolveSpec(spec: ReplicaGroupSpec): ResolvedSpec {
  const fp = { ...DEFAULT_FAILURE_POLICY, ...stripUndefined(spec.failurePolicy ?? {}) };
  const raft = { ...DEFAULT_RAFT, ...stripUndefined(spec.raft ?? {}) };
  const out: ResolvedSpec = {
    replicas: desiredReplicas(spec),
    image: spec.image ?? DEFAULT_IMAGE,
    imagePullPolicy: spec.imagePullPolicy ?? DEFAULT_IMAGE_PULL_POLICY,
    failurePolicy: {
      unhealthyAfterMs: parseDuration(fp.unhealthyAfter)!,
      maxConcurrentReplacements: fp.maxConcurrentReplacements,
      replaceDivergent: fp.replaceDivergent,
      deleteDivergentData: fp.deleteDivergentData,
      maxLagEntries: fp.maxLagEntries,
      catchUpTimeoutMs: parseDuration(fp.catchUpTimeout)!,
    },
    raft,
    paused: spec.paused ?? false,
  };
  if (spec.tls?.enabled ?? DEFAULT_TLS_ENABLED) {
    const tls: ResolvedTls = {};
    if (spec.tls?.caSecretName) tls.caSecretName = spec.tls.caSecretName;
    if (spec.tls?.clientCertSecretName) tls.clientCertSecretName = spec.tls.clientCertSecretName;
    const cm = spec.tls?.certManager;
    if (cm) {
      tls.certManager = {
        issuerRef: { name: cm.issuerRef.name, kind: cm.issuerRef.kind ?? DEFAULT_ISSUER_KIND, group: cm.issuerRef.group ?? DEFAULT_ISSUER_GROUP },
        ...(cm.duration ? { duration: cm.duration } : {}),
        ...(cm.renewBefore ? { renewBefore: cm.renewBefore } : {}),
      };
    }
    out.tls = tls;
  }
  if (spec.storage) out.storage = spec.storage;
  if (spec.resources) out.resources = spec.resources;
  if (spec.affinity) out.affinity = spec.affinity;
  if (spec.topologySpreadConstraints) out.topologySpreadConstraints = spec.topologySpreadConstraints;
  if (spec.nodeSelector) out.nodeSelector = spec.nodeSelector;
  if (spec.tolerations) out.tolerations = spec.tolerations;
  return out;
}

/** faultToleranceOf is how many member failures `replicas` voters survive: floor((n-1)/2). */
export function faultToleranceOf(replicas: number): number {
  return Math.max(0, Math.floor((replicas - 1) / 2));
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
