// Validation and defaults of the ReplicaGroup spec: every rule rejects what it
// should with the field path, and accepts what it should.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatFieldErrors, validateGroup, validateName, validateSpec } from './validate.ts';
import { DEFAULT_FAILURE_POLICY, DEFAULT_RAFT, desiredReplicas, faultToleranceOf, resolveSpec } from './defaults.ts';
import { formatDuration, parseDuration } from './duration.ts';
import { isQuantity, quantityValue } from './quantity.ts';

const paths = (spec: unknown) => validateSpec(spec).map((e) => e.path);

test('a minimal and a full spec are valid', () => {
  assert.deepEqual(validateSpec({}), []);
  assert.deepEqual(validateSpec({ replicas: 3 }), []);
  assert.deepEqual(
    validateSpec({
      replicas: 5,
      image: 'replicant:0.2.0',
      imagePullPolicy: 'Always',
      storage: { size: '1Gi', storageClassName: 'fast-ssd' },
      resources: { limits: { cpu: '500m', memory: '256Mi' }, requests: { cpu: 1 } },
      affinity: { nodeAffinity: {} },
      topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule' }],
      nodeSelector: { disk: 'ssd' },
      tolerations: [{ key: 'dedicated', operator: 'Exists' }],
      failurePolicy: { unhealthyAfter: '1m30s', maxConcurrentReplacements: 2, replaceDivergent: false, deleteDivergentData: true, maxLagEntries: 500, catchUpTimeout: '10m' },
      raft: { heartbeatIntervalMs: 50, electionTimeoutMs: 500, snapshotCount: 100, checkpointInterval: 10 },
      paused: true,
    }),
    [],
  );
});

test('replica counts: even, zero, too many, fractional, and both replicas and faultTolerance are rejected', () => {
  for (const r of [0, 2, 4, 11, 3.5, -1, '3']) assert.deepEqual(paths({ replicas: r }), ['spec.replicas'], `replicas ${r}`);
  const even = validateSpec({ replicas: 4 })[0].message;
  assert.match(even, /even/);
  assert.match(even, /odd/);
  assert.deepEqual(paths({ replicas: 3, faultTolerance: 1 }), ['spec.replicas']);
  assert.match(formatFieldErrors(validateSpec({ replicas: 3, faultTolerance: 1 })), /either spec.replicas or spec.faultTolerance/);
  assert.deepEqual(paths({ faultTolerance: 5 }), ['spec.faultTolerance']);
  assert.deepEqual(paths({ faultTolerance: 0 }), []);
});

test('unknown fields are named with their path and the known ones listed', () => {
  const errs = validateSpec({ replica: 3, storage: { size: '1Gi', class: 'x' }, raft: { tick: 1 }, failurePolicy: { unhealthy: '1s' } });
  assert.deepEqual(errs.map((e) => e.path).sort(), ['spec.failurePolicy.unhealthy', 'spec.raft.tick', 'spec.replica', 'spec.storage.class']);
  assert.match(errs.find((e) => e.path === 'spec.replica')!.message, /known fields are replicas, faultTolerance/);
});

test('storage, resources, durations and raft tuning are checked', () => {
  assert.deepEqual(paths({ storage: {} }), ['spec.storage.size']);
  assert.deepEqual(paths({ storage: { size: 'lots' } }), ['spec.storage.size']);
  assert.deepEqual(paths({ storage: { size: '0' } }), ['spec.storage.size']);
  assert.deepEqual(paths({ storage: { size: '1Gi', storageClassName: 'Bad_Class' } }), ['spec.storage.storageClassName']);
  assert.deepEqual(paths({ resources: { limits: { cpu: 'fast' } } }), ['spec.resources.limits.cpu']);
  assert.deepEqual(paths({ failurePolicy: { unhealthyAfter: '30' } }), ['spec.failurePolicy.unhealthyAfter']);
  assert.deepEqual(paths({ failurePolicy: { unhealthyAfter: '10ms' } }), ['spec.failurePolicy.unhealthyAfter']);
  assert.deepEqual(paths({ failurePolicy: { maxConcurrentReplacements: -1, maxLagEntries: 0 } }), [
    'spec.failurePolicy.maxConcurrentReplacements',
    'spec.failurePolicy.maxLagEntries',
  ]);
  assert.deepEqual(paths({ raft: { heartbeatIntervalMs: 100, electionTimeoutMs: 200 } }), ['spec.raft.electionTimeoutMs']);
  assert.deepEqual(paths({ raft: { heartbeatIntervalMs: 500 } }), ['spec.raft.electionTimeoutMs'], 'default election timeout 1000 < 3x500');
  assert.deepEqual(paths({ imagePullPolicy: 'Sometimes', image: 'two words', paused: 'yes' }), ['spec.image', 'spec.imagePullPolicy', 'spec.paused']);
  assert.deepEqual(paths({ topologySpreadConstraints: [{ maxSkew: 0, whenUnsatisfiable: 'Maybe' }] }), [
    'spec.topologySpreadConstraints[0].topologyKey',
    'spec.topologySpreadConstraints[0].maxSkew',
    'spec.topologySpreadConstraints[0].whenUnsatisfiable',
  ]);
  assert.deepEqual(paths(null), ['spec']);
  assert.deepEqual(paths([]), ['spec']);
});

test('group names must fit member and Service names', () => {
  assert.deepEqual(validateName('example'), []);
  assert.equal(validateName('a'.repeat(51))[0].path, 'metadata.name');
  assert.equal(validateName('9lives').length, 1);
  assert.equal(validateName('Upper').length, 1);
  assert.deepEqual(validateGroup({ metadata: { name: 'ok' }, spec: { replicas: 2 } }).map((e) => e.path), ['spec.replicas']);
});

test('defaults: replicas from faultTolerance, failure policy and raft tuning filled in', () => {
  assert.equal(desiredReplicas({}), 3);
  assert.equal(desiredReplicas({ faultTolerance: 2 }), 5);
  assert.equal(desiredReplicas({ faultTolerance: 0 }), 1);
  assert.equal(desiredReplicas({ replicas: 7 }), 7);
  const r = resolveSpec({ faultTolerance: 2, failurePolicy: { unhealthyAfter: '1m' }, raft: { snapshotCount: 5 } });
  assert.equal(r.replicas, 5);
  assert.equal(r.failurePolicy.unhealthyAfterMs, 60_000);
  assert.equal(r.failurePolicy.catchUpTimeoutMs, parseDuration(DEFAULT_FAILURE_POLICY.catchUpTimeout));
  assert.equal(r.failurePolicy.maxConcurrentReplacements, 1);
  assert.equal(r.failurePolicy.replaceDivergent, true);
  assert.equal(r.failurePolicy.deleteDivergentData, false);
  assert.deepEqual(r.raft, { ...DEFAULT_RAFT, snapshotCount: 5 });
  assert.equal(r.paused, false);
  assert.equal(r.storage, undefined);
  assert.equal(faultToleranceOf(1), 0);
  assert.equal(faultToleranceOf(3), 1);
  assert.equal(faultToleranceOf(5), 2);
});

test('durations and quantities', () => {
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('1.5h'), 5_400_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('30'), undefined);
  assert.equal(parseDuration('s'), undefined);
  assert.equal(parseDuration('-1s'), undefined);
  assert.equal(formatDuration(90_000), '1m30s');
  assert.equal(formatDuration(250), '250ms');
  assert.equal(formatDuration(3_600_000), '1h');
  assert.ok(isQuantity('1Gi') && isQuantity('500m') && isQuantity('1e3') && isQuantity('0.5'));
  assert.ok(!isQuantity('1GB') && !isQuantity('') && !isQuantity(5));
  assert.equal(quantityValue('1Gi'), 2 ** 30);
  assert.equal(quantityValue('500m'), 0.5);
  assert.equal(quantityValue('2e3'), 2000);
});

test('spec.tls: on by default; names checked; enabled false takes no Secrets', () => {
  assert.deepEqual(resolveSpec({}).tls, {});
  assert.deepEqual(resolveSpec({ tls: { enabled: true, caSecretName: 'my-ca', clientCertSecretName: 'app-cert' } }).tls, { caSecretName: 'my-ca', clientCertSecretName: 'app-cert' });
  assert.equal(resolveSpec({ tls: { enabled: false } }).tls, undefined);
  assert.deepEqual(validateSpec({ tls: { enabled: true, caSecretName: 'my-ca', clientCertSecretName: 'app-cert' } }), []);
  assert.deepEqual(paths({ tls: { enabled: 'yes' } }), ['spec.tls.enabled']);
  assert.deepEqual(paths({ tls: { caSecretName: 'My_CA' } }), ['spec.tls.caSecretName']);
  assert.deepEqual(paths({ tls: { ca: 'x' } }), ['spec.tls.ca']);
  assert.deepEqual(paths({ tls: { enabled: false, clientCertSecretName: 'app' } }), ['spec.tls.clientCertSecretName']);
  assert.deepEqual(paths({ tls: { caSecretName: 'same', clientCertSecretName: 'same' } }), ['spec.tls.clientCertSecretName']);
  // The application Secret must not take the name of one of the operator's own Secrets.
  for (const taken of ['g-ca', 'g-operator-tls', 'g-0-tls', 'g-12-tls']) {
    const errs = validateGroup({ metadata: { name: 'g' }, spec: { tls: { clientCertSecretName: taken } } });
    assert.deepEqual(errs.map((e) => e.path), ['spec.tls.clientCertSecretName'], taken);
  }
  assert.deepEqual(validateGroup({ metadata: { name: 'g' }, spec: { tls: { clientCertSecretName: 'g-client-tls' } } }), []);
});

test('spec.tls.certManager: issuerRef completed with cert-manager defaults; name required, kind one of two, exclusive with caSecretName, durations checked', () => {
  const ok = { tls: { certManager: { issuerRef: { name: 'ca-issuer' } }, clientCertSecretName: 'app' } };
  assert.deepEqual(validateSpec(ok), []);
  assert.deepEqual(resolveSpec(ok).tls, { clientCertSecretName: 'app', certManager: { issuerRef: { name: 'ca-issuer', kind: 'Issuer', group: 'cert-manager.io' } } });
  const full = { tls: { certManager: { issuerRef: { name: 'vault', kind: 'ClusterIssuer' as const, group: 'cert-manager.io' }, duration: '720h', renewBefore: '240h' } } };
  assert.deepEqual(validateSpec(full), []);
  assert.deepEqual(resolveSpec(full).tls!.certManager, { issuerRef: { name: 'vault', kind: 'ClusterIssuer', group: 'cert-manager.io' }, duration: '720h', renewBefore: '240h' });
  const one = (tls: unknown) => {
    const errs = validateSpec({ tls });
    assert.equal(errs.length, 1, JSON.stringify(errs));
    return errs[0];
  };
  let e = one({ certManager: {} });
  assert.deepEqual([e.path, /is required: name the cert-manager Issuer/.test(e.message)], ['spec.tls.certManager.issuerRef', true]);
  e = one({ certManager: { issuerRef: {} } });
  assert.deepEqual([e.path, /is required/.test(e.message)], ['spec.tls.certManager.issuerRef.name', true]);
  e = one({ certManager: { issuerRef: { name: 'x', kind: 'Vault' } } });
  assert.deepEqual([e.path, /must be one of Issuer, ClusterIssuer/.test(e.message)], ['spec.tls.certManager.issuerRef.kind', true]);
  e = one({ certManager: { issuerRef: { name: 'x' } }, caSecretName: 'my-ca' });
  assert.deepEqual([e.path, /cannot be combined with spec.tls.certManager/.test(e.message)], ['spec.tls.caSecretName', true]);
  e = one({ enabled: false, certManager: { issuerRef: { name: 'x' } } });
  assert.deepEqual([e.path, /spec.tls.enabled is false/.test(e.message)], ['spec.tls.certManager', true]);
  e = one({ certManager: { issuerRef: { name: 'x' }, duration: '30m' } });
  assert.equal(e.path, 'spec.tls.certManager.duration');
  e = one({ certManager: { issuerRef: { name: 'x' }, duration: '24h', renewBefore: '24h' } });
  assert.deepEqual([e.path, /shorter than the certificate's lifetime/.test(e.message)], ['spec.tls.certManager.renewBefore', true]);
  e = one({ certManager: { issuerRef: { name: 'x' }, renewBefore: '2200h' } });
  assert.match(e.message, /default of 90 days/);
  assert.equal(one({ certManager: { issuerRef: { name: 'x' }, renewBefore: 'soon' } }).path, 'spec.tls.certManager.renewBefore');
  assert.equal(one({ certManager: { issuerRef: { name: 'x', namespace: 'y' } } }).path, 'spec.tls.certManager.issuerRef.namespace');
  assert.equal(one({ certManager: { issuerRef: { name: 'x' }, secretName: 'y' } }).path, 'spec.tls.certManager.secretName');
  assert.equal(one({ certManager: 'ca-issuer' }).path, 'spec.tls.certManager');
});
