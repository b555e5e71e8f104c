// Validation of a ReplicaGroup as the operator reads it. The API server checks
// the CRD schema (and CEL rules where it runs them); the operator checks again
// because not every server runs CEL and because a spec may predate the schema.
// Each problem names the field path and says how to fix it. Must never modify
// the object or apply defaults.
import { DURATION_PATTERN, parseDuration } from './duration.ts';
import { isQuantity, quantityValue } from './quantity.ts';
import { CERT_MANAGER_FIELDS, FAILURE_POLICY_FIELDS, ISSUER_REF_FIELDS, RAFT_FIELDS, SPEC_FIELDS, STORAGE_FIELDS, TLS_FIELDS } from './fields.ts';
import { ISSUER_KINDS } from './types.ts';

/** FieldError is one problem at one field path, e.g. `spec.replicas`. */
export interface FieldError {
  path: string;
  message: string;
}

/** LIMITS are the numeric bounds shared by the validator and the CRD schema. */
export const LIMITS = {
  replicas: { min: 1, max: 9 },
  faultTolerance: { min: 0, max: 4 },
  maxConcurrentReplacements: { min: 0, max: 4 },
  maxLagEntries: { min: 1, max: 1_000_000_000 },
  heartbeatIntervalMs: { min: 5, max: 10_000 },
  electionTimeoutMs: { min: 10, max: 60_000 },
  snapshotCount: { min: 1, max: 1_000_000_000 },
  checkpointInterval: { min: 1, max: 1_000_000_000 },
  unhealthyAfterMs: { min: 1000, max: 24 * 3_600_000 },
  catchUpTimeoutMs: { min: 1000, max: 24 * 3_600_000 },
  /** cert-manager refuses a Certificate lifetime under an hour, and a renewBefore under five minutes. */
  certificateDurationMs: { min: 3_600_000, max: 100 * 365 * 24 * 3_600_000 },
  renewBeforeMs: { min: 5 * 60_000, max: 100 * 365 * 24 * 3_600_000 },
  /** a group name leaves room for "-<ordinal>" in pod names and "-client" in Service names (63 chars). */
  nameLength: 50,
} as const;

export const IMAGE_PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'] as const;

const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

type Errors = FieldError[];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function unknownFields(errs: Errors, path: string, obj: Record<string, unknown>, known: Record<string, true>): void {
  for (const k of Object.keys(obj)) {
    if (!Object.hasOwn(known, k)) {
      errs.push({ path: `${path}.${k}`, message: `unknown field; known fields are ${Object.keys(known).join(', ')}` });
    }
  }
}

function integer(errs: Errors, path: string, v: unknown, bounds: { min: number; max: number }): v is number {
  if (v === undefined) return false;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    errs.push({ path, message: `must be an integer, got ${JSON.stringify(v)}` });
    return false;
  }
  if (v < bounds.min || v > bounds.max) {
    errs.push({ path, message: `must be between ${bounds.min} and ${bounds.max}, got ${v}` });
    return false;
  }
  return true;
}

function boolean(errs: Errors, path: string, v: unknown): void {
  if (v !== undefined && typeof v !== 'boolean') errs.push({ path, message: `must be true or false, got ${JSON.stringify(v)}` });
}

function duration(errs: Errors, path: string, v: unknown, bounds: { min: number; max: number }): void {
  if (v === undefined) return;
  const ms = typeof v === 'string' ? parseDuration(v) : undefined;
  if (ms === undefined) {
    errs.push({ path, message: `must be a duration such as "30s", "1m30s" or "500ms" (pattern ${DURATION_PATTERN}), got ${JSON.stringify(v)}` });
    return;
  }
  if (ms < bounds.min || ms > bounds.max) {
    errs.push({ path, message: `must be between ${bounds.min / 1000}s and ${bounds.max / 3_600_000}h, got ${JSON.stringify(v)}` });
  }
}

function stringMap(errs: Errors, path: string, v: unknown, check?: (s: unknown) => string | undefined): void {
  if (v === undefined) return;
  if (!isObject(v)) {
    errs.push({ path, message: 'must be a map of strings' });
    return;
  }
  for (const [k, val] of Object.entries(v)) {
    const problem = check ? check(val) : typeof val === 'string' ? undefined : 'must be a string';
    if (problem) errs.push({ path: `${path}.${k}`, message: problem });
  }
}

function validateReplicas(errs: Errors, spec: Record<string, unknown>): void {
  const r = spec.replicas;
  const f = spec.faultTolerance;
  if (r !== undefined && f !== undefined) {
    errs.push({
      path: 'spec.replicas',
      message: 'set either spec.replicas or spec.faultTolerance, not both (faultTolerance f means 2f+1 replicas; remove one of them)',
    });
  }
  if (integer(errs, 'spec.replicas', r, LIMITS.replicas) && r % 2 === 0) {
    errs.push({
      path: 'spec.replicas',
      message: `${r} is even; use an odd number (1, 3, 5, 7, 9): an even group tolerates no more failures than the odd group one smaller`,
    });
  }
  integer(errs, 'spec.faultTolerance', f, LIMITS.faultTolerance);
}

function validateImage(errs: Errors, spec: Record<string, unknown>): void {
  const img = spec.image;
  if (img !== undefined && (typeof img !== 'string' || img.length === 0 || /\s/.test(img))) {
    errs.push({ path: 'spec.image', message: `must be a non-empty image reference without spaces, got ${JSON.stringify(img)}` });
  }
  const pp = spec.imagePullPolicy;
  if (pp !== undefined && !IMAGE_PULL_POLICIES.includes(pp as never)) {
    errs.push({ path: 'spec.imagePullPolicy', message: `must be one of ${IMAGE_PULL_POLICIES.join(', ')}, got ${JSON.stringify(pp)}` });
  }
}

function validateStorage(errs: Errors, v: unknown): void {
  if (v === undefined) return;
  if (!isObject(v)) {
    errs.push({ path: 'spec.storage', message: 'must be an object with size (e.g. "1Gi") and optional storageClassName' });
    return;
  }
  unknownFields(errs, 'spec.storage', v, STORAGE_FIELDS);
  if (v.size === undefined) errs.push({ path: 'spec.storage.size', message: 'is required when spec.storage is set (e.g. "1Gi")' });
  else if (!isQuantity(v.size) || !(quantityValue(v.size as string)! > 0)) {
    errs.push({ path: 'spec.storage.size', message: `must be a positive quantity such as "1Gi" or "500Mi", got ${JSON.stringify(v.size)}` });
  }
  const sc = v.storageClassName;
  if (sc !== undefined && (typeof sc !== 'string' || !DNS1123_SUBDOMAIN.test(sc))) {
    errs.push({ path: 'spec.storage.storageClassName', message: `must be a storage class name (lowercase DNS subdomain), got ${JSON.stringify(sc)}` });
  }
}

function validateResources(errs: Errors, v: unknown): void {
  if (v === undefined) return;
  if (!isObject(v)) {
    errs.push({ path: 'spec.resources', message: 'must be an object with limits and/or requests' });
    return;
  }
  unknownFields(errs, 'spec.resources', v, { limits: true, requests: true, claims: true });
  const q = (s: unknown) => (isQuantity(typeof s === 'number' ? String(s) : s) ? undefined : `must be a quantity such as "500m" or "1Gi", got ${JSON.stringify(s)}`);
  stringMap(errs, 'spec.resources.limits', v.limits, q);
  stringMap(errs, 'spec.resources.requests', v.requests, q);
}

function validateScheduling(errs: Errors, spec: Record<string, unknown>): void {
  if (spec.affinity !== undefined && !isObject(spec.affinity)) errs.push({ path: 'spec.affinity', message: 'must be an object (a core/v1 Affinity)' });
  stringMap(errs, 'spec.nodeSelector', spec.nodeSelector);
  if (spec.tolerations !== undefined && (!Array.isArray(spec.tolerations) || !spec.tolerations.every(isObject))) {
    errs.push({ path: 'spec.tolerations', message: 'must be a list of core/v1 Tolerations' });
  }
  const tsc = spec.topologySpreadConstraints;
  if (tsc === undefined) return;
  if (!Array.isArray(tsc)) {
    errs.push({ path: 'spec.topologySpreadConstraints', message: 'must be a list of core/v1 TopologySpreadConstraints' });
    return;
  }
  tsc.forEach((c, i) => {
    const p = `spec.topologySpreadConstraints[${i}]`;
    if (!isObject(c)) return void errs.push({ path: p, message: 'must be an object' });
    if (typeof c.topologyKey !== 'string' || c.topologyKey === '') errs.push({ path: `${p}.topologyKey`, message: 'is required (e.g. kubernetes.io/hostname)' });
    if (!Number.isInteger(c.maxSkew) || (c.maxSkew as number) < 1) errs.push({ path: `${p}.maxSkew`, message: 'must be an integer >= 1' });
    if (c.whenUnsatisfiable !== 'DoNotSchedule' && c.whenUnsatisfiable !== 'ScheduleAnyway') {
      errs.push({ path: `${p}.whenUnsatisfiable`, message: 'must be DoNotSchedule or ScheduleAnyway' });
    }
  });
}

function validateFailurePolicy(errs: Errors, v: unknown): void {
  if (v === undefined) return;
  const p = 'spec.failurePolicy';
  if (!isObject(v)) return void errs.push({ path: p, message: 'must be an object' });
  unknownFields(errs, p, v, FAILURE_POLICY_FIELDS);
  duration(errs, `${p}.unhealthyAfter`, v.unhealthyAfter, { min: LIMITS.unhealthyAfterMs.min, max: LIMITS.unhealthyAfterMs.max });
  duration(errs, `${p}.catchUpTimeout`, v.catchUpTimeout, { min: LIMITS.catchUpTimeoutMs.min, max: LIMITS.catchUpTimeoutMs.max });
  integer(errs, `${p}.maxConcurrentReplacements`, v.maxConcurrentReplacements, LIMITS.maxConcurrentReplacements);
  integer(errs, `${p}.maxLagEntries`, v.maxLagEntries, LIMITS.maxLagEntries);
  boolean(errs, `${p}.replaceDivergent`, v.replaceDivergent);
  boolean(errs, `${p}.deleteDivergentData`, v.deleteDivergentData);
}

function validateRaft(errs: Errors, v: unknown): void {
  if (v === undefined) return;
  const p = 'spec.raft';
  if (!isObject(v)) return void errs.push({ path: p, message: 'must be an object' });
  unknownFields(errs, p, v, RAFT_FIELDS);
  const hb = integer(errs, `${p}.heartbeatIntervalMs`, v.heartbeatIntervalMs, LIMITS.heartbeatIntervalMs) ? (v.heartbeatIntervalMs as number) : 100;
  const okEt = integer(errs, `${p}.electionTimeoutMs`, v.electionTimeoutMs, LIMITS.electionTimeoutMs);
  const et = okEt ? (v.electionTimeoutMs as number) : v.electionTimeoutMs === undefined ? 1000 : undefined;
  if (et !== undefined && et < 3 * hb) {
    errs.push({
      path: `${p}.electionTimeoutMs`,
      message: `${et}ms must be at least 3x heartbeatIntervalMs (${hb}ms); 10x is usual`,
    });
  }
  integer(errs, `${p}.snapshotCount`, v.snapshotCount, LIMITS.snapshotCount);
  integer(errs, `${p}.checkpointInterval`, v.checkpointInterval, LIMITS.checkpointInterval);
}

function secretName(errs: Errors, path: string, v: unknown): v is string {
  if (v === undefined) return false;
  if (typeof v !== 'string' || v.length > 253 || !DNS1123_SUBDOMAIN.test(v)) {
    errs.push({ path, message: `must be a Secret name (lowercase DNS subdomain, at most 253 characters), got ${JSON.stringify(v)}` });
    return false;
  }
  return true;
}

function validateTls(errs: Errors, v: unknown): void {
  if (v === undefined) return;
  const p = 'spec.tls';
  if (!isObject(v)) return void errs.push({ path: p, message: 'must be an object such as {enabled: true}' });
  unknownFields(errs, p, v, TLS_FIELDS);
  boolean(errs, `${p}.enabled`, v.enabled);
  const ca = secretName(errs, `${p}.caSecretName`, v.caSecretName);
  const client = secretName(errs, `${p}.clientCertSecretName`, v.clientCertSecretName);
  if (v.enabled === false) {
    for (const k of ['caSecretName', 'clientCertSecretName'] as const) {
      if (v[k] !== undefined) errs.push({ path: `${p}.${k}`, message: `is set but spec.tls.enabled is false; remove it, or turn TLS on` });
    }
  }
  if (ca && client && v.caSecretName === v.clientCertSecretName) {
    errs.push({ path: `${p}.clientCertSecretName`, message: 'must differ from spec.tls.caSecretName: the operator would overwrite the CA with a client certificate' });
  }
  if (v.certManager !== undefined) {
    validateCertManager(errs, v.certManager);
    if (v.enabled === false) errs.push({ path: `${p}.certManager`, message: 'is set but spec.tls.enabled is false; remove it, or turn TLS on' });
    if (v.caSecretName !== undefined) {
      errs.push({
        path: `${p}.caSecretName`,
        message: 'cannot be combined with spec.tls.certManager: with certManager the issuer signs every certificate; remove caSecretName (or remove certManager to have the operator sign with that CA)',
      });
    }
  }
}

/** CERT_MANAGER_DEFAULT_DURATION_MS is cert-manager's default Certificate lifetime (90 days), against which renewBefore is checked when duration is unset. */
export const CERT_MANAGER_DEFAULT_DURATION_MS = 90 * 24 * 3_600_000;

function validateCertManager(errs: Errors, v: unknown): void {
  const p = 'spec.tls.certManager';
  if (!isObject(v)) return void errs.push({ path: p, message: 'must be an object such as {issuerRef: {name: my-ca-issuer}}' });
  unknownFields(errs, p, v, CERT_MANAGER_FIELDS);
  const ref = v.issuerRef;
  if (ref === undefined) errs.push({ path: `${p}.issuerRef`, message: 'is required: name the cert-manager Issuer (or ClusterIssuer, with kind) that signs the certificates, e.g. {name: my-ca-issuer}' });
  else if (!isObject(ref)) errs.push({ path: `${p}.issuerRef`, message: 'must be an object with name, and optionally kind (Issuer or ClusterIssuer) and group' });
  else {
    unknownFields(errs, `${p}.issuerRef`, ref, ISSUER_REF_FIELDS);
    if (ref.name === undefined || ref.name === '') errs.push({ path: `${p}.issuerRef.name`, message: 'is required: the name of the Issuer or ClusterIssuer' });
    else if (typeof ref.name !== 'string' || ref.name.length > 253 || !DNS1123_SUBDOMAIN.test(ref.name)) {
      errs.push({ path: `${p}.issuerRef.name`, message: `must be an issuer name (lowercase DNS subdomain), got ${JSON.stringify(ref.name)}` });
    }
    if (ref.kind !== undefined && !ISSUER_KINDS.includes(ref.kind as never)) {
      errs.push({ path: `${p}.issuerRef.kind`, message: `must be one of ${ISSUER_KINDS.join(', ')} (Issuer: in the group's namespace), got ${JSON.stringify(ref.kind)}` });
    }
    if (ref.group !== undefined && (typeof ref.group !== 'string' || !DNS1123_SUBDOMAIN.test(ref.group))) {
      errs.push({ path: `${p}.issuerRef.group`, message: `must be an API group such as cert-manager.io, got ${JSON.stringify(ref.group)}` });
    }
  }
  const before = errs.length;
  duration(errs, `${p}.duration`, v.duration, LIMITS.certificateDurationMs);
  duration(errs, `${p}.renewBefore`, v.renewBefore, LIMITS.renewBeforeMs);
  if (errs.length === before && v.renewBefore !== undefined) {
    const life = v.duration !== undefined ? parseDuration(v.duration as string)! : CERT_MANAGER_DEFAULT_DURATION_MS;
    if (parseDuration(v.renewBefore as string)! >= life) {
      errs.push({ path: `${p}.renewBefore`, message: `${JSON.stringify(v.renewBefore)} must be shorter than the certificate's lifetime (${v.duration !== undefined ? `duration ${JSON.stringify(v.duration)}` : "cert-manager's default of 90 days"})` });
    }
  }
}

/** validateSpec checks a spec as read from the API; an empty list means valid. */
export function validateSpec(spec: unknown): FieldError[] {
  const errs: Errors = [];
  if (!isObject(spec)) return [{ path: 'spec', message: 'is required and must be an object' }];
  unknownFields(errs, 'spec', spec, SPEC_FIELDS);
  validateReplicas(errs, spec);
  validateImage(errs, spec);
  validateStorage(errs, spec.storage);
  validateResources(errs, spec.resources);
  validateScheduling(errs, spec);
  validateFailurePolicy(errs, spec.failurePolicy);
  validateRaft(errs, spec.raft);
  validateTls(errs, spec.tls);
  boolean(errs, 'spec.paused', spec.paused);
  return errs;
}

/** validateName checks that the group's name leaves room for member, Service and volume names. */
export function validateName(name: unknown): FieldError[] {
  if (typeof name !== 'string' || !DNS1035_LABEL.test(name)) {
    return [{ path: 'metadata.name', message: `must be a lowercase DNS label starting with a letter (it names Services), got ${JSON.stringify(name)}` }];
  }
  if (name.length > LIMITS.nameLength) {
    return [{ path: 'metadata.name', message: `must be at most ${LIMITS.nameLength} characters so member pod and Service names fit in 63, got ${name.length}` }];
  }
  return [];
}

/**
 * operatorSecretName says whether `secret` is one of the Secrets the operator
 * keeps for group `group`: `<group>-ca`, `<group>-operator-tls` or a member's
 * `<group>-<ordinal>-tls`.
 */
export function isOperatorSecretName(group: string, secret: string): boolean {
  if (secret === `${group}-ca` || secret === `${group}-operator-tls`) return true;
  return secret.startsWith(`${group}-`) && /^[0-9]+-tls$/.test(secret.slice(group.length + 1));
}

/** validateGroup checks the name and the spec of a ReplicaGroup. */
export function validateGroup(group: { metadata?: { name?: unknown }; spec?: unknown }): FieldError[] {
  const errs = [...validateName(group.metadata?.name), ...validateSpec(group.spec)];
  const name = group.metadata?.name;
  const tls = isObject(group.spec) && isObject(group.spec.tls) ? group.spec.tls : undefined;
  if (typeof name === 'string' && tls && typeof tls.clientCertSecretName === 'string' && isOperatorSecretName(name, tls.clientCertSecretName)) {
    errs.push({
      path: 'spec.tls.clientCertSecretName',
      message: `${JSON.stringify(tls.clientCertSecretName)} is the name of one of the operator's own Secrets for this group (its CA, its client or a member certificate); pick another, e.g. "${name}-client-cert"`,
    });
  }
  return errs;
}

/** formatFieldErrors renders errors as one line for a condition message or an Event. */
export function formatFieldErrors(errs: FieldError[]): string {
  return errs.map((e) => `${e.path}: ${e.message}`).join('; ');
}
