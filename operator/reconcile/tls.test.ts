// The planner's side of TLS, against the model world (whose Secrets hold real
// certificates made by the wiring's own code): the CA, operator, member and
// application Secrets are created with owner references and the right names;
// certificates are renewed before expiry into the same Secrets without
// restarting pods; a user's CA is used as given (and refused clearly when it
// cannot sign); TLS cannot be switched under a running group, nor its issuer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1LabelSelector, V1Secret } from '@kubernetes/client-node';
import { createCertificateAuthority, parseCertificate, verifyIssuedBy } from '../pki/index.ts';
import type { Action } from './actions.ts';
import { secretText } from './certificates.ts';
import { ANNOTATION_SPEC_HASH } from './names.ts';
import { World } from './testing/world.ts';

const DAY = 86_400_000;
const kinds = (as: Action[]) => as.map((a) => a.kind);
const cert = (s: V1Secret | undefined) => parseCertificate(secretText(s, 'tls.crt')!);
const b64 = (s: string) => Buffer.from(s).toString('base64');

test('a new TLS group: CA, operator and member Secrets owned by the group; members named by their peer host and the client Service', () => {
  const w = new World({ replicas: 3 });
  w.settle();
  assert.deepEqual([...w.secrets.keys()].sort(), ['g-0-tls', 'g-1-tls', 'g-2-tls', 'g-ca', 'g-operator-tls']);
  for (const s of w.secrets.values()) {
    assert.equal(s.type, 'kubernetes.io/tls');
    assert.deepEqual(s.metadata!.ownerReferences!.map((r) => [r.kind, r.name, r.uid, r.controller]), [['ReplicaGroup', 'g', 'uid-1', true]]);
    assert.equal(s.metadata!.labels!['replicant.dev/group'], 'g');
  }
  const caPem = secretText(w.secrets.get('g-ca'), 'tls.crt')!;
  assert.ok(cert(w.secrets.get('g-ca')).isCA);
  // Leaves carry ca.crt but never the CA's key.
  for (const name of ['g-0-tls', 'g-operator-tls']) {
    const s = w.secrets.get(name)!;
    assert.deepEqual(Object.keys(s.data!).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
    assert.equal(secretText(s, 'ca.crt'), caPem);
    assert.ok(verifyIssuedBy(cert(s).der, caPem));
    assert.ok(!secretText(s, 'tls.key')!.includes(secretText(w.secrets.get('g-ca'), 'tls.key')!.split('\n')[1]));
  }
  const op = cert(w.secrets.get('g-operator-tls'));
  assert.equal(op.subject.commonName, 'replicant-operator');
  assert.deepEqual(op.extendedKeyUsage, ['clientAuth']);
  assert.deepEqual([...op.dnsNames, ...op.ipAddresses], [], 'no names: it is never taken for a peer');
  const m = cert(w.secrets.get('g-1-tls'));
  assert.equal(m.subject.commonName, 'g-1');
  assert.deepEqual(m.extendedKeyUsage.sort(), ['clientAuth', 'serverAuth']);
  assert.deepEqual(m.dnsNames, [
    'g-1.g-peer.ns.svc.cluster.local',
    'g-1.g-peer.ns.svc',
    'g-client',
    'g-client.ns',
    'g-client.ns.svc',
    'g-client.ns.svc.cluster.local',
    'localhost',
  ]);
  assert.deepEqual(m.ipAddresses, ['127.0.0.1', '10.96.0.17']);
  assert.ok(m.notAfter.getTime() - w.now <= 90 * DAY);
  // Every pod mounts its own Secret.
  for (const [name, pod] of w.pods) assert.ok(pod.spec!.volumes!.some((v) => v.secret?.secretName === `${name}-tls`));
});

test('rotation: certificates past two thirds of their life are reissued into the same Secrets; no pod is restarted', () => {
  const w = new World({ replicas: 3 });
  w.settle();
  const before = new Map([...w.secrets].map(([k, v]) => [k, { uid: v.metadata!.uid, serial: cert(v).serialNumber }]));
  const pods = new Map([...w.pods].map(([k, p]) => [k, { uid: p.metadata!.uid, hash: p.metadata!.annotations![ANNOTATION_SPEC_HASH] }]));
  const from = w.history.length;
  w.tick(59 * DAY);
  w.settle();
  assert.deepEqual(kinds(w.history.slice(from).filter((h) => h.action).map((h) => h.action!)), [], 'nothing to do before the renewal time');
  w.tick(2 * DAY);
  w.settle();
  const acts = w.history.slice(from).filter((h) => h.action).map((h) => h.action!);
  assert.deepEqual(kinds(acts), ['IssueCertificate', 'IssueCertificate', 'IssueCertificate', 'IssueCertificate']);
  assert.ok(acts.every((a) => a.kind === 'IssueCertificate' && a.reason === 'expiring' && a.resourceVersion), 'replaced in place, guarded by resourceVersion');
  for (const [name, b] of before) {
    if (name === 'g-ca') continue;
    const s = w.secrets.get(name)!;
    assert.equal(s.metadata!.uid, b.uid, `${name}: same Secret`);
    assert.notEqual(cert(s).serialNumber, b.serial, `${name}: new certificate`);
  }
  assert.equal(cert(w.secrets.get('g-ca')).serialNumber, before.get('g-ca')!.serial, 'the CA is kept');
  for (const [name, p] of w.pods) assert.deepEqual({ uid: p.metadata!.uid, hash: p.metadata!.annotations![ANNOTATION_SPEC_HASH] }, pods.get(name), `${name} not restarted`);
});

test('a Secret someone broke is reissued: deleted, key not matching, names changed', () => {
  const w = new World({ replicas: 3 });
  w.settle();
  w.secrets.delete('g-2-tls');
  const other = w.secrets.get('g-0-tls')!;
  w.putSecret({ ...w.secrets.get('g-1-tls')!, data: { ...w.secrets.get('g-1-tls')!.data, 'tls.key': other.data!['tls.key'] } }, w.secrets.get('g-1-tls')!.metadata!.uid);
  const from = w.history.length;
  w.settle();
  const reasons = w.history.slice(from).flatMap((h) => (h.action?.kind === 'IssueCertificate' ? [`${h.action.metadata.name}:${h.action.reason}`] : []));
  assert.deepEqual(reasons.sort(), ['g-1-tls:key-mismatch', 'g-2-tls:missing']);
  // The client Service got a cluster IP: member certificates must name it.
  w.services.set('g-client', { ...w.services.get('g-client')!, spec: { ...w.services.get('g-client')!.spec, clusterIP: '10.0.0.9' } });
  const from2 = w.history.length;
  w.settle();
  const again = w.history.slice(from2).flatMap((h) => (h.action?.kind === 'IssueCertificate' ? [`${h.action.metadata.name}:${h.action.reason}`] : []));
  assert.deepEqual(again.sort(), ['g-0-tls:names-changed', 'g-1-tls:names-changed', 'g-2-tls:names-changed']);
  assert.ok(cert(w.secrets.get('g-0-tls')).ipAddresses.includes('10.0.0.9'));
});

test("a user's CA: used as given (no g-ca), leaves reissued when it is replaced; an unusable one stops with a Warning", () => {
  const mine = createCertificateAuthority({ commonName: 'corp CA', now: new Date(Date.parse('2025-01-01T00:00:00Z')) });
  const w = new World({ replicas: 3, tls: { caSecretName: 'corp-ca' } });
  w.run((p) => p.events.some((e) => e.reason === 'CertificateAuthorityUnusable'), 10);
  const warnings = w.events().filter((e) => e.reason === 'CertificateAuthorityUnusable');
  assert.ok(warnings.length > 0 && /Secret corp-ca \(spec.tls.caSecretName\) does not exist/.test(warnings[0].message), JSON.stringify(warnings[0]));
  assert.equal(w.pods.size, 0, 'no member without a certificate');
  w.putSecret({ metadata: { name: 'corp-ca' }, type: 'kubernetes.io/tls', data: { 'tls.crt': b64(mine.certificatePem) } });
  w.run((p) => p.events.some((e) => e.reason === 'CertificateAuthorityUnusable' && /needs both tls.crt and tls.key/.test(e.message)), 5);
  w.putSecret({ metadata: { name: 'corp-ca' }, type: 'kubernetes.io/tls', data: { 'tls.crt': b64(mine.certificatePem), 'tls.key': b64(mine.privateKeyPem) } }, w.secrets.get('corp-ca')!.metadata!.uid);
  w.settle();
  assert.ok(!w.secrets.has('g-ca'));
  assert.ok(verifyIssuedBy(cert(w.secrets.get('g-0-tls')).der, mine.certificatePem));
  // The user rotates the CA: every leaf is reissued from the new one, pods stay.
  const next = createCertificateAuthority({ commonName: 'corp CA 2', now: new Date(w.now) });
  const podUids = [...w.pods.values()].map((p) => p.metadata!.uid);
  w.putSecret({ metadata: { name: 'corp-ca' }, type: 'kubernetes.io/tls', data: { 'tls.crt': b64(next.certificatePem), 'tls.key': b64(next.privateKeyPem) } }, w.secrets.get('corp-ca')!.metadata!.uid);
  w.settle();
  for (const n of ['g-0-tls', 'g-1-tls', 'g-2-tls', 'g-operator-tls']) {
    assert.ok(verifyIssuedBy(cert(w.secrets.get(n)).der, next.certificatePem), n);
    assert.equal(secretText(w.secrets.get(n), 'ca.crt'), next.certificatePem);
  }
  assert.deepEqual([...w.pods.values()].map((p) => p.metadata!.uid), podUids);
});

test('application client Secret: issued with client usage only, moved when renamed, never overwritten when someone else owns it', () => {
  const w = new World({ replicas: 1, tls: { clientCertSecretName: 'app-cert' } });
  w.settle();
  const app = cert(w.secrets.get('app-cert'));
  assert.deepEqual(app.extendedKeyUsage, ['clientAuth']);
  assert.deepEqual([...app.dnsNames, ...app.ipAddresses], []);
  assert.notEqual(app.subject.commonName, 'replicant-operator');
  assert.equal(w.secrets.get('app-cert')!.metadata!.labels!['replicant.dev/certificate'], 'client');
  w.setSpec({ replicas: 1, tls: { clientCertSecretName: 'app-cert-2' } });
  w.settle();
  assert.ok(w.secrets.has('app-cert-2') && !w.secrets.has('app-cert'), 'the old application Secret is deleted');
  w.putSecret({ metadata: { name: 'someone-else' }, type: 'Opaque', data: { password: b64('hunter2') } });
  w.setSpec({ replicas: 1, tls: { clientCertSecretName: 'someone-else' } });
  w.settle();
  assert.deepEqual(Object.keys(w.secrets.get('someone-else')!.data!), ['password'], 'not overwritten');
  assert.ok(w.events().some((e) => e.reason === 'ClientSecretNotOwned' && e.message.includes('someone-else')));
});

test('TLS cannot be switched on or off, nor to cert-manager, under a running group; tls.enabled false runs plaintext without Secrets', () => {
  const plain = new World({ replicas: 3, tls: { enabled: false } });
  plain.settle();
  assert.equal(plain.secrets.size, 0);
  assert.ok(plain.pods.get('g-0')!.spec!.containers[0].args!.includes('--listen-peer-urls=http://$(POD_IP):2380'));
  plain.setSpec({ replicas: 3 });
  const p = plain.run((x) => x.step === 'invalid-spec', 5);
  assert.equal(p.status.phase, 'Invalid');
  const c = p.status.conditions!.find((x) => x.type === 'InvalidSpec')!;
  assert.match(c.message, /spec.tls.enabled: is true but the group's members run plaintext.*set spec.tls.enabled back to false/);
  assert.equal(plain.secrets.size, 0, 'nothing issued for a refused spec');

  // Nor can the issuer: members of an operator-CA group do not trust cert-manager's issuer.
  const ca = new World({ replicas: 3 });
  ca.settle();
  const secrets = ca.secrets.size;
  ca.setSpec({ replicas: 3, tls: { certManager: { issuerRef: { name: 'x' } } } });
  const q = ca.run((x) => x.step === 'invalid-spec', 5);
  assert.equal(q.status.phase, 'Invalid');
  assert.match(q.status.conditions!.find((x) => x.type === 'InvalidSpec')!.message, /spec.tls.certManager: is set but the group's members run on certificates from the operator's CA.*remove spec.tls.certManager/);
  assert.equal(ca.certificates.size, 0, 'no Certificate made for a refused spec');
  assert.equal(ca.secrets.size, secrets);
});

test('with --manage-network-policies each group gets a policy opening its peer port to its own members only; kept up to date', () => {
  const w = new World({ replicas: 3 }, { networkPolicies: true });
  w.settle();
  const np = w.networkPolicies.get('g-peers')!;
  const members: V1LabelSelector = { matchLabels: { 'app.kubernetes.io/name': 'replicant', 'replicant.dev/group': 'g' }, matchExpressions: [{ key: 'replicant.dev/member', operator: 'Exists' }] };
  assert.deepEqual(np.spec, { podSelector: members, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 2380, protocol: 'TCP' }], _from: [{ podSelector: members }] }] });
  assert.deepEqual(np.metadata!.ownerReferences!.map((r) => r.uid), ['uid-1']);
  // Someone widens it: the operator puts it back.
  np.spec!.ingress![0]._from = [{ podSelector: {} }];
  const from = w.history.length;
  w.settle();
  assert.deepEqual(kinds(w.history.slice(from).filter((h) => h.action).map((h) => h.action!)), ['UpdateNetworkPolicy']);
  assert.deepEqual(w.networkPolicies.get('g-peers')!.spec!.ingress![0]._from, [{ podSelector: members }]);
  // Off by default.
  const plain = new World({ replicas: 1 });
  plain.settle();
  assert.equal(plain.networkPolicies.size, 0);
});

test('Secrets in the way that belong to someone else are never overwritten or used: the operator waits and says so', () => {
  const w = new World({ replicas: 3 });
  w.putSecret({ metadata: { name: 'g-ca' }, type: 'Opaque', data: { note: b64('mine') } });
  w.run((p) => p.events.some((e) => e.reason === 'SecretNotOwned' && /Secret g-ca exists and does not belong to this group.*spec.tls.caSecretName/.test(e.message)), 10);
  assert.equal(w.pods.size, 0);
  assert.deepEqual(Object.keys(w.secrets.get('g-ca')!.data!), ['note']);
  w.secrets.delete('g-ca');
  w.putSecret({ metadata: { name: 'g-1-tls' }, type: 'Opaque', data: { note: b64('mine') } });
  w.run((p) => p.events.some((e) => e.reason === 'SecretNotOwned' && e.message.includes('Secret g-1-tls')), 30);
  assert.ok(!w.pods.has('g-1'), 'no pod on a foreign Secret');
  assert.deepEqual(Object.keys(w.secrets.get('g-1-tls')!.data!), ['note']);
  w.secrets.delete('g-1-tls');
  const p = w.run((x) => x.step === 'steady' && !x.action && x.status.phase === 'Available');
  assert.deepEqual(p.status.configuration!.voters, ['g-0', 'g-1', 'g-2']);
});
