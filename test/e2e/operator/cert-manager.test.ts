// Operator end-to-end, cert-manager mode (spec.tls.certManager, issue 8):
// before cert-manager is installed the group waits with a CertManagerUnavailable
// Warning (the operator keeps running); then, with a minimal
// certificates.cert-manager.io CRD and a fake CA issuer that watches
// Certificates and writes their Secrets (fake-cert-manager.ts), a TLS group
// comes up Available on certificates the operator never signed (no `<group>-ca`
// Secret; every Secret verifies against the fake issuer's CA); etcdctl with
// the application client Secret works through the client Service; a member
// lost with its volume is replaced: a new Certificate for the newcomer, the old
// member's Certificate and Secret deleted, its certificate refused on the peer
// port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseCertificate, verifyIssuedBy } from '../../../operator/pki/index.ts';
import { NAMESPACE, OperatorEnv } from './env.ts';
import { FakeCertManager } from './fake-cert-manager.ts';
import { groupManifest, settled } from './group.ts';
import { adminStatusTls, etcdctl, secretPems, writePems } from './tls-client.ts';


const host = (member: string, group: string) => `${member}.${group}-peer.${NAMESPACE}.svc.cluster.local`;

test('a cert-manager group: Available on Certificates issued by the issuer, etcdctl with the application Secret, a replaced member gets a new Certificate and the old one is deleted', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-cm-e2e-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const env = await OperatorEnv.start(t);
  env.startOperator();
  const name = 'cm';
  // Before cert-manager is installed: the operator runs, says why the group waits, and creates no member.
  await env.apply(groupManifest(name, { tls: { certManager: { issuerRef: { name: 'test-ca' } }, clientCertSecretName: 'cm-app' } }));
  await env.waitGroup(name, 'a CertManagerUnavailable Warning', () => env.eventLines(name).some((l) => /^Warning CertManagerUnavailable: .*cert-manager is not installed/.test(l)), 60_000);
  assert.deepEqual(env.pods(name), []);
  assert.ok(env.operators[0].running, 'the operator keeps running');
  const started = Date.now();
  const issuer = await FakeCertManager.start(env);
  t.after(() => issuer.stop());
  const g = await env.waitGroup(name, 'Available on cert-manager certificates with 3 voters', (g) => settled(g, 3) && g, 240_000);
  t.diagnostic(`cert-manager group Available ${Date.now() - started} ms after cert-manager was installed; the fake issuer saw ${issuer.watchEvents} watch events and wrote ${issuer.issued} Secrets`);
  assert.ok(issuer.watchEvents > 0, 'localkube serves watches of CRD-defined resources');

  const voters = g.status!.configuration!.voters;
  const certificates = () => env.lk.api.store.list('cert-manager.io/certificates', NAMESPACE).map((c) => c.metadata.name as string).sort();
  assert.deepEqual(certificates(), [...voters.map((v) => `${v}-tls`), 'cm-app', 'cm-operator-tls'].sort());
  const secrets = env.lk.api.store.list('/secrets', NAMESPACE).map((s) => s.metadata.name as string).filter((n) => n.startsWith(name)).sort();
  assert.deepEqual(secrets, [...voters.map((v) => `${v}-tls`), 'cm-app', 'cm-operator-tls'].sort(), 'no cm-ca: the operator runs no CA');
  for (const s of secrets) {
    const pems = secretPems(env, s)!;
    assert.equal(pems.ca, issuer.ca.certificatePem, `${s} carries the issuer's ca.crt`);
    assert.ok(verifyIssuedBy(parseCertificate(pems.cert).der, issuer.ca.certificatePem), `${s} was signed by the issuer`);
    const owners = env.lk.api.store.get('/secrets', NAMESPACE, s)!.metadata.ownerReferences ?? [];
    assert.ok(owners.some((r: { kind?: string; name?: string }) => r.kind === 'ReplicaGroup' && r.name === name), `${s} goes with the group`);
  }
  const c0 = env.lk.api.store.get('cert-manager.io/certificates', NAMESPACE, `${voters[0]}-tls`)!;
  assert.deepEqual(c0.spec.issuerRef, { name: 'test-ca', kind: 'Issuer', group: 'cert-manager.io' });
  assert.ok(c0.spec.dnsNames.includes(host(voters[0], name)));
  for (const p of env.pods(name)) assert.equal(p.metadata!.annotations!['replicant.dev/tls-issuer'], 'cert-manager');

  await t.test('etcdctl with the application client Secret works through the client Service; without a certificate it is refused', async () => {
    const files = writePems(dir, 'app', secretPems(env, 'cm-app')!);
    const endpoint = `--endpoints=https://${await env.clientEndpoint(name)}`;
    const tlsFlags = [`--cacert=${files.cacert}`, `--cert=${files.cert}`, `--key=${files.key}`];
    const put = await etcdctl([endpoint, ...tlsFlags, 'put', 'greeting', 'from cert-manager']);
    assert.equal(put.code, 0, put.out);
    const get = await etcdctl([endpoint, ...tlsFlags, 'get', 'greeting', '--print-value-only']);
    assert.equal(get.out.trim(), 'from cert-manager');
    const anonymous = await etcdctl([endpoint, `--cacert=${files.cacert}`, 'get', 'greeting'], 3);
    assert.notEqual(anonymous.code, 0, `refused without a client certificate: ${anonymous.out}`);
  });

  await t.test('a member lost with its volume: a new Certificate for the newcomer, the old Certificate and Secret deleted, the old certificate refused on the peer port', async () => {
    const before = env.group(name)!.status!.configuration!.voters;
    const victim = before.find((m) => m !== env.group(name)!.status!.leader)!;
    const old = secretPems(env, `${victim}-tls`)!;
    const faultAt = Date.now();
    await env.kubectl(['delete', 'pvc', `data-${victim}`, '--wait=false']);
    await env.kubectl(['delete', 'pod', victim, '--wait=false']);
    const after = await env.waitGroup(name, `${victim} replaced`, (g) => settled(g, 3) && !g.status!.configuration!.voters.includes(victim) && g, 240_000);
    t.diagnostic(`${victim} replaced in ${Date.now() - faultAt} ms`);
    const newcomer = after.status!.configuration!.voters.find((v) => !before.includes(v))!;
    assert.ok(newcomer, 'a new member');
    assert.ok(env.lk.api.store.get('cert-manager.io/certificates', NAMESPACE, `${newcomer}-tls`), 'its Certificate');
    const fresh = secretPems(env, `${newcomer}-tls`)!;
    assert.equal(parseCertificate(fresh.cert).subject.commonName, newcomer);
    await env.waitGroup(name, `${victim}'s Certificate and Secret deleted`, () =>
      !env.lk.api.store.get('cert-manager.io/certificates', NAMESPACE, `${victim}-tls`) && !env.lk.api.store.get('/secrets', NAMESPACE, `${victim}-tls`), 60_000);
    const lines = env.eventLines(name);
    assert.ok(lines.some((l) => l.startsWith(`Normal DeleteCertificate: delete cert-manager Certificate ${victim}-tls`)), lines.join('\n'));
    assert.ok(!lines.some((l) => /IssueCertificate|CreateCertificateAuthority/.test(l)), 'the operator signed nothing');

    const target = after.status!.configuration!.voters.find((v) => v !== newcomer)!;
    const address = `${env.podIP(target)}:2380`;
    await assert.rejects(adminStatusTls(address, host(target, name), old.ca, old), (e: Error & { code?: number }) => {
      assert.equal(e.code, 7, `PERMISSION_DENIED, got ${e.message}`);
      return true;
    });
    const s = await adminStatusTls(address, host(target, name), fresh.ca, fresh);
    assert.ok(Number(s.memberId) > 0);
  });
});
