// The planner's side of cert-manager mode (spec.tls.certManager), against the
// model world with a fake cert-manager CA issuer (testing/fake-issuer.ts):
// the Certificates it keeps (names, SANs, usages, issuerRef, owner references,
// labels), that a member's pod waits until its Secret holds tls.crt, tls.key
// and ca.crt, that a replaced member's Certificate and then its Secret are
// deleted, that the operator never signs or rotates itself, and that a missing
// cert-manager, a Secret in the way or a switch of issuer are refused clearly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1Secret } from '@kubernetes/client-node';
import type { ReplicaGroupSpec } from '../api/index.ts';
import { parseCertificate, verifyIssuedBy } from '../pki/index.ts';
import type { Action } from './actions.ts';
import { issuedSecretProblem } from './cert-manager.ts';
import { memberCertificate, secretText } from './certificates.ts';
import { ANNOTATION_TLS_ISSUER } from './names.ts';
import { World } from './testing/world.ts';

const DAY = 86_400_000;
const spec = (extra: Partial<NonNullable<ReplicaGroupSpec['tls']>> = {}): ReplicaGroupSpec => ({
  replicas: 3,
  tls: { certManager: { issuerRef: { name: 'group-ca', kind: 'ClusterIssuer' }, duration: '720h', renewBefore: '240h' }, ...extra },
});
const cert = (s: V1Secret | undefined) => parseCertificate(secretText(s, 'tls.crt')!);
const actionsOf = (w: World, from = 0): Action[] => w.history.slice(from).flatMap((h) => (h.action ? [h.action] : []));

test('a cert-manager group: a Certificate per member, for the operator and for the application, with the names, identities and usages the operator uses itself', () => {
  const w = new World(spec({ clientCertSecretName: 'app-cert' }));
  w.settle();
  assert.deepEqual([...w.certificates.keys()].sort(), ['app-cert', 'g-0-tls', 'g-1-tls', 'g-2-tls', 'g-operator-tls']);
  assert.deepEqual([...w.secrets.keys()].sort(), ['app-cert', 'g-0-tls', 'g-1-tls', 'g-2-tls', 'g-operator-tls'], 'no CA Secret: the issuer signs');
  const kinds = new Set(actionsOf(w).map((a) => a.kind));
  assert.ok(!kinds.has('IssueCertificate') && !kinds.has('CreateCertificateAuthority'), 'the operator signs nothing');
  const issuerRef = { name: 'group-ca', kind: 'ClusterIssuer', group: 'cert-manager.io' };
  for (const c of w.certificates.values()) {
    assert.equal(c.apiVersion, 'cert-manager.io/v1');
    assert.equal(c.kind, 'Certificate');
    assert.equal(c.spec!.secretName, c.metadata!.name, 'the Certificate is named after its Secret');
    assert.deepEqual(c.spec!.issuerRef, issuerRef);
    assert.equal(c.spec!.duration, '720h');
    assert.equal(c.spec!.renewBefore, '240h');
    assert.deepEqual(c.spec!.privateKey, { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always', encoding: 'PKCS8' });
    assert.deepEqual(c.metadata!.ownerReferences!.map((r) => [r.kind, r.name, r.uid, r.controller]), [['ReplicaGroup', 'g', 'uid-1', true]]);
    assert.equal(c.metadata!.labels!['replicant.dev/group'], 'g');
    assert.deepEqual(c.spec!.secretTemplate!.labels, c.metadata!.labels, 'the Secret gets the same labels, so it is found by the group label');
  }
  const m = w.certificates.get('g-1-tls')!.spec!;
  const want = memberCertificate({ group: w.group, namespace: 'ns', clusterDomain: 'cluster.local', clientServiceIP: '10.96.0.17' }, 'g-1');
  assert.equal(m.commonName, 'g-1');
  assert.deepEqual(m.dnsNames, want.dnsNames);
  assert.ok(m.dnsNames!.includes('g-1.g-peer.ns.svc.cluster.local'), 'the peer host the other members check');
  assert.deepEqual(m.ipAddresses, ['127.0.0.1', '10.96.0.17']);
  assert.deepEqual(m.usages, ['digital signature', 'key encipherment', 'server auth', 'client auth']);
  const op = w.certificates.get('g-operator-tls')!.spec!;
  assert.equal(op.commonName, 'replicant-operator', 'the identity the members let call the admin API');
  assert.deepEqual(op.usages, ['digital signature', 'key encipherment', 'client auth']);
  assert.equal(op.dnsNames, undefined);
  const app = w.certificates.get('app-cert')!.spec!;
  assert.deepEqual([app.commonName, app.usages, app.dnsNames, app.ipAddresses], ['g-application-app-cert', ['digital signature', 'key encipherment', 'client auth'], undefined, undefined]);

  // What the fake issuer wrote is what members mount; the Secrets go with the group (non-controller owner reference).
  const caPem = w.certManager.ca!.certificatePem;
  for (const [name, s] of w.secrets) {
    assert.ok(verifyIssuedBy(cert(s).der, caPem), name);
    assert.equal(secretText(s, 'ca.crt'), caPem);
    assert.deepEqual(s.metadata!.ownerReferences!.map((r) => [r.uid, r.controller]), [['uid-1', false]], `${name} adopted by the group`);
  }
  assert.equal(cert(w.secrets.get('g-2-tls')).subject.commonName, 'g-2');
  for (const [name, pod] of w.pods) {
    assert.ok(pod.spec!.volumes!.some((v) => v.secret?.secretName === `${name}-tls`), `${name} mounts its Secret`);
    assert.equal(pod.metadata!.annotations![ANNOTATION_TLS_ISSUER], 'cert-manager');
    assert.ok(pod.spec!.containers[0].args!.includes('--client-cert-auth'));
  }
  assert.equal(w.group.status!.phase, 'Available');
});

test('pods wait, with an Event and no crash loop, until cert-manager has written tls.crt, tls.key and ca.crt', () => {
  const w = new World(spec());
  w.certManager.issues = false;
  for (let i = 0; i < 15; i++) {
    w.pass();
    w.tick(2000);
  }
  assert.deepEqual([...w.certificates.keys()], ['g-operator-tls'], 'the operator identity first');
  assert.equal(w.pods.size, 0);
  const waiting = w.events().filter((e) => e.reason === 'WaitingForCertificate');
  assert.ok(waiting.length > 0);
  assert.match(waiting[0].message, /waiting for cert-manager to issue Certificate g-operator-tls into Secret g-operator-tls \(the Secret does not exist yet\)/);
  assert.ok(w.history.slice(-5).every((h) => !h.action), 'no action while waiting');
  assert.ok(w.history.slice(-5).every((h) => h.step === 'certificates'));

  // Now the issuer writes the operator's Secret but holds the members back: the first member's pod waits for its own.
  w.certManager.issues = true;
  w.runCertManager();
  w.certManager.issues = false;
  for (let i = 0; i < 10; i++) {
    w.pass();
    w.tick(2000);
  }
  assert.ok(w.certificates.has('g-0-tls'), 'the founding member gets its Certificate');
  assert.equal(w.pods.size, 0, 'but no pod before its Secret');
  assert.ok(w.events().some((e) => e.reason === 'WaitingForCertificate' && /Certificate g-0-tls .*pod g-0 is created once it holds tls.crt, tls.key and ca.crt/.test(e.message)));

  // An issuer that writes no ca.crt (not a CA issuer) is named as the cause.
  w.certManager.issues = true;
  w.certManager.withCaCrt = false;
  for (let i = 0; i < 5; i++) {
    w.pass();
    w.tick(2000);
  }
  assert.equal(w.pods.size, 0);
  assert.ok(w.events().some((e) => e.reason === 'WaitingForCertificate' && /no ca.crt \(the issuer must write ca.crt: use a CA or Vault issuer\)/.test(e.message)));
  w.certManager.withCaCrt = true;
  w.certManager.issued.clear();
  w.settle();
  assert.equal(w.group.status!.phase, 'Available');
});

test('a replaced member: the newcomer gets a Certificate before its pod; the removed member\'s Certificate, then its Secret, are deleted', () => {
  const w = new World(spec());
  w.settle();
  const from = w.history.length;
  w.killPod('g-1'); // an emptyDir member: its data is gone, it is replaced at once
  w.run((p) => p.step === 'steady' && !p.action && !w.secrets.has('g-1-tls') && w.pods.has('g-3'), 300);
  const acts = actionsOf(w, from);
  const at = (kind: string, name: string) =>
    acts.findIndex((a) => a.kind === kind && (a.kind === 'CreateCertificate' ? a.certificate.metadata!.name === name : a.kind === 'CreatePod' ? a.pod.metadata!.name === name : 'name' in a && a.name === name));
  assert.ok(at('CreateCertificate', 'g-3-tls') >= 0 && at('CreateCertificate', 'g-3-tls') < at('CreatePod', 'g-3'), 'Certificate before pod');
  assert.ok(at('DeleteCertificate', 'g-1-tls') >= 0, 'the old Certificate is deleted');
  assert.ok(at('DeleteCertificate', 'g-1-tls') < at('DeleteSecret', 'g-1-tls'), 'then its Secret (cert-manager would rewrite it otherwise)');
  assert.deepEqual([...w.certificates.keys()].sort(), ['g-0-tls', 'g-2-tls', 'g-3-tls', 'g-operator-tls']);
  assert.equal(cert(w.secrets.get('g-3-tls')).subject.commonName, 'g-3');
  assert.ok(!acts.some((a) => a.kind === 'IssueCertificate'));
});

test('no self-rotation: past two thirds of 90 days the operator issues nothing; a changed client Service IP updates the Certificates, and cert-manager reissues', () => {
  const w = new World(spec());
  w.settle();
  const issued = w.certManager.issueCount;
  const from = w.history.length;
  w.tick(61 * DAY);
  w.settle();
  w.tick(40 * DAY);
  w.settle();
  assert.deepEqual(actionsOf(w, from).map((a) => a.kind), [], 'renewal is cert-manager\'s job: not one action');
  assert.equal(w.certManager.issueCount, issued);

  w.services.get('g-client')!.spec!.clusterIP = '10.96.0.99';
  w.settle();
  const updates = actionsOf(w, from).filter((a) => a.kind === 'UpdateCertificate');
  assert.deepEqual(updates.map((a) => a.kind === 'UpdateCertificate' && a.certificate.metadata!.name).sort(), ['g-0-tls', 'g-1-tls', 'g-2-tls']);
  assert.ok(updates.every((a) => a.kind === 'UpdateCertificate' && a.resourceVersion), 'guarded by resourceVersion');
  assert.deepEqual(cert(w.secrets.get('g-0-tls')).ipAddresses, ['127.0.0.1', '10.96.0.99'], 'reissued by cert-manager, not the operator');
  assert.ok(!actionsOf(w, from).some((a) => a.kind === 'IssueCertificate'));

  // A changed issuer is an update too (cert-manager reissues from the new one).
  w.setSpec({ replicas: 3, tls: { certManager: { issuerRef: { name: 'other-ca' } } } });
  w.settle();
  for (const c of w.certificates.values()) assert.deepEqual(c.spec!.issuerRef, { name: 'other-ca', kind: 'Issuer', group: 'cert-manager.io' });
  for (const c of w.certificates.values()) assert.equal(c.spec!.duration, undefined, 'a removed duration is removed from the Certificates');
});

test('cert-manager missing, a Secret in the way, and switching back to the operator CA: clear refusals, nothing overwritten', () => {
  const missing = new World(spec());
  missing.certManager.installed = false;
  for (let i = 0; i < 6; i++) {
    missing.pass();
    missing.tick(5000);
  }
  assert.equal(missing.pods.size + missing.secrets.size, 0);
  assert.ok(missing.events().some((e) => e.type === 'Warning' && e.reason === 'CertManagerUnavailable' && /cert-manager is not installed/.test(e.message)));
  missing.certManager.installed = true;
  missing.settle();
  assert.equal(missing.group.status!.phase, 'Available', 'comes up once cert-manager is there');

  const taken = new World(spec());
  taken.putSecret({ metadata: { name: 'g-operator-tls', labels: {} }, data: { password: Buffer.from('x').toString('base64') } });
  for (let i = 0; i < 8; i++) {
    taken.pass();
    taken.tick(5000);
  }
  assert.equal(taken.certificates.size, 0, 'cert-manager is not pointed at someone else\'s Secret');
  assert.deepEqual(Object.keys(taken.secrets.get('g-operator-tls')!.data!), ['password']);
  assert.ok(taken.events().some((e) => e.reason === 'SecretNotOwned' && /g-operator-tls.*cert-manager would overwrite it/.test(e.message)));

  const w = new World(spec());
  w.settle();
  w.setSpec({ replicas: 3 });
  const p = w.run((x) => x.step === 'invalid-spec', 5);
  assert.match(p.status.conditions!.find((c) => c.type === 'InvalidSpec')!.message, /spec.tls.certManager: is not set but the group's members run on certificates issued by cert-manager/);
  assert.ok(!w.secrets.has('g-ca'), 'no CA made for a refused spec');
});

test('issuedSecretProblem: a usable Secret has tls.crt (a chain is fine), tls.key and ca.crt', () => {
  const w = new World(spec());
  w.settle();
  const good = w.secrets.get('g-0-tls')!;
  assert.equal(issuedSecretProblem(good), undefined);
  const pem = secretText(good, 'tls.crt')!;
  const chain = { ...good, data: { ...good.data, 'tls.crt': Buffer.from(pem + secretText(good, 'ca.crt')!).toString('base64') } };
  assert.equal(issuedSecretProblem(chain), undefined, 'leaf followed by the issuer chain');
  assert.match(issuedSecretProblem(undefined)!, /does not exist yet/);
  const noKey = { ...good, data: { 'tls.crt': good.data!['tls.crt'], 'ca.crt': good.data!['ca.crt'] } };
  assert.match(issuedSecretProblem(noKey)!, /no tls.key$/);
  const junk = { ...good, data: { ...good.data, 'tls.crt': Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n').toString('base64') } };
  assert.match(issuedSecretProblem(junk)!, /is not a certificate/);
});
