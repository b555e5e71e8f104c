// ReplicaGroup manifests and status predicates shared by the operator
// end-to-end tests: a test group is small and quick to judge (unhealthyAfter
// 10s: short, yet longer than a readiness probe stalls on a machine at load
// 20 — at 5s members that were merely slow got replaced), keeps its data on volumes unless asked otherwise, and "settled" means
// what a user would check: Available, full fault tolerance, no operation in
// flight, every member healthy. Pure helpers: must never talk to anything.
import type { ReplicaGroup, ReplicaGroupSpec } from '../../../operator/api/index.ts';
import { NAMESPACE } from './env.ts';

export const TEST_IMAGE = 'replicant:0.1.0';

/** groupManifest renders a ReplicaGroup with test defaults, overridden by `spec` (a key set to undefined is dropped). */
export function groupManifest(name: string, spec: Partial<ReplicaGroupSpec> & Record<string, unknown> = {}, annotations?: Record<string, string>): object {
  const merged: Record<string, unknown> = {
    replicas: 3,
    image: TEST_IMAGE,
    storage: { size: '1Gi' },
    failurePolicy: { unhealthyAfter: '10s', catchUpTimeout: '2m' },
    raft: { heartbeatIntervalMs: 100, electionTimeoutMs: 1000 },
    // TLS is the default; the tests talk to the group as an application with this Secret.
    tls: { clientCertSecretName: `${name}-app` },
    ...spec,
  };
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
  return {
    apiVersion: 'replicant.dev/v1alpha1',
    kind: 'ReplicaGroup',
    metadata: { name, namespace: NAMESPACE, ...(annotations ? { annotations } : {}) },
    spec: merged,
  };
}

/** settled: Available, tolerating as many failures as desired, nothing in flight, every member healthy, the spec realized. */
export function settled(g: ReplicaGroup, voters?: number): boolean {
  const s = g.status;
  if (!s) return false;
  const ft = s.faultTolerance;
  const members = s.members ?? [];
  return (
    s.phase === 'Available' &&
    !s.operation &&
    !!ft &&
    ft.current === ft.desired &&
    (voters === undefined || s.replicas === voters) &&
    s.observedGeneration === g.metadata.generation &&
    s.configuration?.joint === false &&
    (s.configuration?.learners.length ?? 1) === 0 &&
    members.length === (s.configuration?.voters.length ?? -1) &&
    members.every((m) => m.health === 'Healthy')
  );
}

/** condition reads one status condition. */
export function condition(g: ReplicaGroup, type: string) {
  return g.status?.conditions?.find((c) => c.type === type);
}
