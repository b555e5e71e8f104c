// The member Pod, its volume claim, the Services and the PDB as rendered for
// a group: flags, probes, DNS identity, volumes, labels, owner references,
// scheduling defaults, and the spec hash that drives rolling updates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveSpec, type ReplicaGroup } from '../api/index.ts';
import { buildMemberPod, buildMemberPvc, podSpecHash } from './pod.ts';
import { buildClientService, buildPdb, buildPeerService, pdbNeedsUpdate, serviceNeedsUpdate } from './services.ts';
import { DEFAULT_OPTIONS, withDefaults } from './options.ts';
import { ANNOTATION_SPEC_HASH, ANNOTATION_TLS, memberOfPeerUrl, ordinalOf, peerUrl } from './names.ts';

const group: ReplicaGroup = { metadata: { name: 'kv', namespace: 'prod', uid: 'abc-123' }, spec: {} };

test('member pod: flags, env, ports, probes on 2381, DNS identity, labels and owner (plaintext group)', () => {
  const spec = resolveSpec({ image: 'replicant:9', raft: { heartbeatIntervalMs: 50, electionTimeoutMs: 500 }, tls: { enabled: false } });
  const pod = buildMemberPod({ group, spec, member: 'kv-4', clusterState: 'existing', initialCluster: ['kv-0', 'kv-1', 'kv-4'], options: DEFAULT_OPTIONS });
  const c = pod.spec!.containers[0];
  const host = (m: string) => `${m}.kv-peer.prod.svc.cluster.local`;
  assert.deepEqual(c.args, [
    '--name=kv-4',
    '--data-dir=/var/lib/replicant/data',
    '--listen-client-urls=http://$(POD_IP):2379',
    `--advertise-client-urls=http://${host('kv-4')}:2379`,
    '--listen-peer-urls=http://$(POD_IP):2380',
    `--initial-advertise-peer-urls=http://${host('kv-4')}:2380`,
    `--initial-cluster=kv-0=http://${host('kv-0')}:2380,kv-1=http://${host('kv-1')}:2380,kv-4=http://${host('kv-4')}:2380`,
    '--initial-cluster-state=existing',
    '--initial-cluster-token=kv-abc-123',
    '--listen-metrics-urls=http://$(POD_IP):2381',
    '--heartbeat-interval=50',
    '--election-timeout=500',
    '--snapshot-count=100000',
    '--checkpoint-interval=1000',
  ]);
  assert.equal(c.image, 'replicant:9');
  assert.equal(c.command, undefined, 'the image entrypoint runs unless options.command is set');
  assert.deepEqual(c.env!.map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]), [
    ['POD_IP', 'status.podIP'],
    ['POD_NAME', 'metadata.name'],
    ['POD_NAMESPACE', 'metadata.namespace'],
  ]);
  assert.deepEqual(c.ports!.map((p) => p.containerPort), [2379, 2380, 2381]);
  assert.deepEqual([c.readinessProbe!.httpGet!.path, c.readinessProbe!.httpGet!.port], ['/readyz', 2381]);
  assert.deepEqual([c.livenessProbe!.httpGet!.path, c.livenessProbe!.httpGet!.port], ['/healthz', 2381]);
  assert.equal(pod.spec!.hostname, 'kv-4');
  assert.equal(pod.spec!.subdomain, 'kv-peer');
  assert.deepEqual(pod.metadata!.labels, {
    'app.kubernetes.io/name': 'replicant',
    'replicant.dev/group': 'kv',
    'app.kubernetes.io/instance': 'kv',
    'app.kubernetes.io/managed-by': 'replicant-operator',
    'replicant.dev/member': 'kv-4',
  });
  assert.deepEqual(pod.metadata!.ownerReferences, [
    { apiVersion: 'replicant.dev/v1alpha1', kind: 'ReplicaGroup', name: 'kv', uid: 'abc-123', controller: true, blockOwnerDeletion: true },
  ]);
  assert.deepEqual(pod.spec!.volumes, [{ name: 'data', emptyDir: {} }]);
  assert.deepEqual(c.volumeMounts, [{ name: 'data', mountPath: '/var/lib/replicant' }]);
  const spread = pod.spec!.topologySpreadConstraints![0];
  assert.equal(spread.topologyKey, 'kubernetes.io/hostname');
  assert.equal(spread.whenUnsatisfiable, 'ScheduleAnyway', 'a replacement must never hang unschedulable');
  assert.deepEqual(spread.labelSelector!.matchLabels, { 'app.kubernetes.io/name': 'replicant', 'replicant.dev/group': 'kv' });
  assert.equal(pod.metadata!.annotations![ANNOTATION_SPEC_HASH], podSpecHash(spec, DEFAULT_OPTIONS));
});

test('with storage the pod mounts its claim; user scheduling replaces the default spread', () => {
  const spec = resolveSpec({
    storage: { size: '2Gi', storageClassName: 'ssd' },
    topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'DoNotSchedule' }],
    affinity: { nodeAffinity: {} },
    nodeSelector: { disk: 'ssd' },
    resources: { limits: { memory: '1Gi' } },
    tls: { enabled: false },
  });
  const pod = buildMemberPod({ group, spec, member: 'kv-0', clusterState: 'new', initialCluster: ['kv-0'], options: withDefaults({ command: ['replicant'], argsPrefix: ['replica'] }) });
  assert.deepEqual(pod.spec!.volumes, [{ name: 'data', persistentVolumeClaim: { claimName: 'data-kv-0' } }]);
  assert.equal(pod.spec!.topologySpreadConstraints![0].topologyKey, 'zone');
  assert.deepEqual(pod.spec!.nodeSelector, { disk: 'ssd' });
  assert.deepEqual(pod.spec!.affinity, { nodeAffinity: {} });
  assert.deepEqual(pod.spec!.containers[0].resources, { limits: { memory: '1Gi' } });
  assert.deepEqual(pod.spec!.containers[0].command, ['replicant']);
  assert.equal(pod.spec!.containers[0].args![0], 'replica');
  const pvc = buildMemberPvc(group, spec, 'kv-0');
  assert.equal(pvc.metadata!.name, 'data-kv-0');
  assert.deepEqual(pvc.spec!.resources!.requests, { storage: '2Gi' });
  assert.equal(pvc.spec!.storageClassName, 'ssd');
  assert.equal(pvc.metadata!.labels!['replicant.dev/member'], 'kv-0');
  assert.throws(() => buildMemberPvc(group, resolveSpec({}), 'kv-0'));
});

test('the spec hash changes with what a restart changes, and only with that', () => {
  const h = (s: object) => podSpecHash(resolveSpec(s), DEFAULT_OPTIONS);
  const base = h({ replicas: 3, image: 'a' });
  assert.equal(h({ replicas: 5, image: 'a' }), base, 'scaling is not a rollout');
  assert.equal(h({ replicas: 3, image: 'a', paused: true, failurePolicy: { unhealthyAfter: '1m' } }), base, 'operator-only settings are not');
  assert.notEqual(h({ replicas: 3, image: 'b' }), base);
  assert.notEqual(h({ replicas: 3, image: 'a', raft: { snapshotCount: 5 } }), base);
  assert.notEqual(h({ replicas: 3, image: 'a', resources: { limits: { cpu: '1' } } }), base);
  assert.notEqual(h({ replicas: 3, image: 'a', tolerations: [{ key: 'x' }] }), base);
  assert.equal(h({ image: 'a', resources: { limits: { cpu: '1', memory: '1Gi' } } }), h({ image: 'a', resources: { limits: { memory: '1Gi', cpu: '1' } } }), 'key order does not matter');
});

test('Services and PDB', () => {
  const peer = buildPeerService(group);
  assert.equal(peer.metadata!.name, 'kv-peer');
  assert.equal(peer.spec!.clusterIP, 'None');
  assert.equal(peer.spec!.publishNotReadyAddresses, true, 'members must find each other before they are Ready');
  assert.deepEqual(peer.spec!.ports!.map((p) => p.port), [2380, 2379, 2381]);
  const client = buildClientService(group);
  assert.equal(client.metadata!.name, 'kv-client');
  assert.deepEqual(client.spec!.ports!.map((p) => p.port), [2379]);
  assert.ok(!client.spec!.publishNotReadyAddresses);
  assert.equal(serviceNeedsUpdate(peer, buildPeerService(group)), false);
  assert.equal(serviceNeedsUpdate({ ...peer, spec: { ...peer.spec, clusterIP: 'None', selector: { a: 'b' } } }, peer), true);
  assert.equal(buildPdb(group, 3).spec!.minAvailable, 2);
  assert.equal(buildPdb(group, 5).spec!.minAvailable, 3);
  assert.equal(buildPdb(group, 1).spec!.minAvailable, 0);
  assert.equal(pdbNeedsUpdate(buildPdb(group, 3), buildPdb(group, 5)), true);
  assert.equal(pdbNeedsUpdate(buildPdb(group, 3), buildPdb(group, 3)), false);
});

test('names: ordinals and peer URLs round-trip', () => {
  assert.equal(ordinalOf('kv', 'kv-12'), 12);
  assert.equal(ordinalOf('kv', 'kv-012'), undefined);
  assert.equal(ordinalOf('kv', 'other-1'), undefined);
  assert.equal(ordinalOf('kv', 'kv-peer'), undefined);
  assert.equal(memberOfPeerUrl(peerUrl('kv', 'prod', 'kv-3', 'cluster.local')), 'kv-3');
  assert.equal(memberOfPeerUrl('not a url'), undefined);
});

test('test-only fault injection adds the replica flag and is part of the spec hash; off by default', () => {
  const spec = resolveSpec({ replicas: 3 });
  const args = (o: object) => buildMemberPod({ group, spec, member: 'kv-0', clusterState: 'new', initialCluster: ['kv-0'], options: withDefaults(o) }).spec!.containers[0].args!;
  assert.ok(!args({}).includes('--enable-fault-injection'));
  assert.ok(args({ replicaFaultInjection: true }).includes('--enable-fault-injection'));
  assert.equal(podSpecHash(spec, withDefaults({ replicaFaultInjection: false })), podSpecHash(spec, DEFAULT_OPTIONS));
  assert.notEqual(podSpecHash(spec, withDefaults({ replicaFaultInjection: true })), podSpecHash(spec, DEFAULT_OPTIONS));
});

test('TLS member pod (the default): https URLs, the etcd TLS flags on its own Secret, the operator as the admin identity; the CA key is never mounted', () => {
  const spec = resolveSpec({ replicas: 3, storage: { size: '1Gi' } });
  const pod = buildMemberPod({ group, spec, member: 'kv-1', clusterState: 'new', initialCluster: ['kv-0', 'kv-1', 'kv-2'], options: DEFAULT_OPTIONS });
  const args = pod.spec!.containers[0].args!;
  const host = (m: string) => `${m}.kv-peer.prod.svc.cluster.local`;
  for (const want of [
    '--listen-client-urls=https://$(POD_IP):2379',
    `--advertise-client-urls=https://${host('kv-1')}:2379`,
    '--listen-peer-urls=https://$(POD_IP):2380',
    `--initial-advertise-peer-urls=https://${host('kv-1')}:2380`,
    `--initial-cluster=kv-0=https://${host('kv-0')}:2380,kv-1=https://${host('kv-1')}:2380,kv-2=https://${host('kv-2')}:2380`,
    '--cert-file=/etc/replicant/tls/tls.crt',
    '--key-file=/etc/replicant/tls/tls.key',
    '--trusted-ca-file=/etc/replicant/tls/ca.crt',
    '--client-cert-auth',
    '--peer-cert-file=/etc/replicant/tls/tls.crt',
    '--peer-key-file=/etc/replicant/tls/tls.key',
    '--peer-trusted-ca-file=/etc/replicant/tls/ca.crt',
    '--peer-client-cert-auth',
    '--admin-allowed-identities=replicant-operator',
    // health and metrics stay plain HTTP (probes)
    '--listen-metrics-urls=http://$(POD_IP):2381',
  ]) assert.ok(args.includes(want), `missing ${want} in ${args.join(' ')}`);
  assert.deepEqual(pod.spec!.volumes, [
    { name: 'data', persistentVolumeClaim: { claimName: 'data-kv-1' } },
    { name: 'tls', secret: { secretName: 'kv-1-tls', defaultMode: 0o440 } },
  ]);
  assert.deepEqual(pod.spec!.containers[0].volumeMounts, [
    { name: 'data', mountPath: '/var/lib/replicant' },
    { name: 'tls', mountPath: '/etc/replicant/tls', readOnly: true },
  ]);
  assert.equal(pod.spec!.securityContext?.fsGroup, 1000, 'the image user (1000) can read its 0440 certificate files');
  assert.equal(pod.metadata!.annotations![ANNOTATION_TLS], 'true');
  assert.equal(pod.spec!.containers[0].readinessProbe!.httpGet!.port, 2381);
  // Whether TLS is on is part of the spec hash (it never changes under a running group); the CA's
  // Secret name is not: a new CA is rolled out by rewriting Secrets, which must not restart pods.
  assert.notEqual(podSpecHash(spec, DEFAULT_OPTIONS), podSpecHash(resolveSpec({ replicas: 3, storage: { size: '1Gi' }, tls: { enabled: false } }), DEFAULT_OPTIONS));
  assert.equal(podSpecHash(spec, DEFAULT_OPTIONS), podSpecHash(resolveSpec({ replicas: 3, storage: { size: '1Gi' }, tls: { caSecretName: 'corp-ca', clientCertSecretName: 'app' } }), DEFAULT_OPTIONS));
});
