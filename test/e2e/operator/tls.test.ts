// Operator end-to-end, TLS (issue 8): a group with the default spec.tls comes
// up Available over mutual TLS (the operator probes and reconfigures members
// with its own client certificate); etcdctl with --cacert/--cert/--key from
// the application client Secret works through the client Service, and without
// a client certificate it is refused; a member whose pod and volume are lost
// is replaced by a new member with a new certificate, the old member's Secret
// is deleted, and its certificate is refused on the peer port while a current
// member's is accepted; a member Secret that disappears is reissued without
// restarting any pod, and the member serves the reissued certificate (rotation
// end to end: Secret → volume files → the replica's reload).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { parseCertificate } from '../../../operator/pki/index.ts';
import { OperatorEnv } from './env.ts';
import { groupManifest, settled } from './group.ts';
import { adminStatusTls, etcdctl, secretPems, writePems } from './tls-client.ts';


const host = (member: string, group: string) => `${member}.${group}-peer.default.svc.cluster.local`;

/** servedSerial is the serial number (lower-case hex, no leading zeros) of the certificate a member's client port presents now. */
function servedSerial(ip: string, servername: string, ca: string, who: { cert: string; key: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: ip, port: 2379, servername, ca, cert: who.cert, key: who.key, ALPNProtocols: ['h2'] }, () => {
      const c = s.getPeerX509Certificate();
      s.destroy();
      resolve(normalSerial(c?.serialNumber ?? ''));
    });
    s.on('error', reject);
    s.setTimeout(5000, () => {
      s.destroy();
      reject(new Error('TLS handshake timed out'));
    });
  });
}

const normalSerial = (hex: string) => hex.toLowerCase().replace(/^0+/, '');

test('a TLS group: Available over mutual TLS, etcdctl with the application certificate, a replaced member gets a new certificate and the old one is refused', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-tls-e2e-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const env = await OperatorEnv.start(t);
  env.startOperator();
  const name = 'secure';
  const started = Date.now();
  // spec.tls is not given: TLS is the default. The application asks for a client certificate.
  await env.apply(groupManifest(name, { tls: { clientCertSecretName: 'secure-app' } }));
  const g = await env.waitGroup(name, 'Available over TLS with 3 voters', (g) => settled(g, 3) && g, 240_000);
  t.diagnostic(`TLS group Available after ${Date.now() - started} ms`);
  for (const p of env.pods(name)) {
    const args = p.spec!.containers[0].args!.join(' ');
    assert.match(args, /--listen-peer-urls=https:\/\/.*--client-cert-auth/, `${p.metadata!.name} runs with TLS`);
  }
  assert.deepEqual(
    env.lk.api.store.list('/secrets', 'default').map((s) => s.metadata.name).filter((n) => n.startsWith(name)).sort(),
    [...g.status!.configuration!.voters.map((v) => `${v}-tls`), 'secure-app', 'secure-ca', 'secure-operator-tls'].sort(),
  );

  await t.test('etcdctl with the application client Secret works through the client Service; without a certificate it is refused', async () => {
    const app = secretPems(env, 'secure-app')!;
    const files = writePems(dir, 'app', app);
    const endpoint = `--endpoints=https://${await env.clientEndpoint(name)}`;
    const tlsFlags = [`--cacert=${files.cacert}`, `--cert=${files.cert}`, `--key=${files.key}`];
    const put = await etcdctl([endpoint, ...tlsFlags, 'put', 'greeting', 'hello']);
    assert.equal(put.code, 0, put.out);
    assert.match(put.out, /^OK/);
    const get = await etcdctl([endpoint, ...tlsFlags, 'get', 'greeting', '--print-value-only']);
    assert.equal(get.out.trim(), 'hello');
    // Refusals: etcdctl keeps retrying the handshake until its deadline, so a short one.
    const anonymous = await etcdctl([endpoint, `--cacert=${files.cacert}`, 'get', 'greeting'], 3);
    assert.notEqual(anonymous.code, 0, `refused without a client certificate: ${anonymous.out}`);
    const plaintext = await etcdctl([`--endpoints=http://${await env.clientEndpoint(name)}`, 'get', 'greeting'], 3);
    assert.notEqual(plaintext.code, 0, 'plaintext is refused');
  });

  await t.test('a member lost with its volume is replaced by a new member with a new certificate; the old certificate is refused on the peer port', async () => {
    const before = env.group(name)!.status!.configuration!.voters;
    const victim = before.find((m) => m !== env.group(name)!.status!.leader)!;
    const old = secretPems(env, `${victim}-tls`)!;
    const oldSerial = parseCertificate(old.cert).serialNumber;
    const faultAt = Date.now();
    await env.kubectl(['delete', 'pvc', `data-${victim}`, '--wait=false']);
    await env.kubectl(['delete', 'pod', victim, '--wait=false']);
    const after = await env.waitGroup(name, `${victim} replaced`, (g) => settled(g, 3) && !g.status!.configuration!.voters.includes(victim) && g, 240_000);
    t.diagnostic(`${victim} replaced in ${Date.now() - faultAt} ms`);
    const voters = after.status!.configuration!.voters;
    const newcomer = voters.find((v) => !before.includes(v))!;
    assert.ok(newcomer, `a new member among ${voters.join(', ')}`);
    const fresh = secretPems(env, `${newcomer}-tls`)!;
    const cert = parseCertificate(fresh.cert);
    assert.equal(cert.subject.commonName, newcomer);
    assert.ok(cert.dnsNames.includes(host(newcomer, name)));
    assert.notEqual(cert.serialNumber, oldSerial);
    await env.waitGroup(name, `${victim}'s Secret deleted`, () => !env.lk.api.store.get('/secrets', 'default', `${victim}-tls`), 60_000);

    // On a current member's peer port: the removed member's certificate is refused, a current member's accepted.
    const target = voters.find((v) => v !== newcomer)!;
    const address = `${env.podIP(target)}:2380`;
    await assert.rejects(adminStatusTls(address, host(target, name), old.ca, old), (e: Error & { code?: number }) => {
      assert.equal(e.code, 7, `PERMISSION_DENIED, got ${e.message}`);
      assert.match(e.message, /removed member/);
      return true;
    });
    const s = await adminStatusTls(address, host(target, name), fresh.ca, fresh);
    assert.ok(Number(s.memberId) > 0);
  });

  await t.test('a member Secret that disappears is reissued into a new Secret; no pod restarts, the group stays Available', async () => {
    const voters = env.group(name)!.status!.configuration!.voters;
    const victim = voters[0];
    const serial = parseCertificate(secretPems(env, `${victim}-tls`)!.cert).serialNumber;
    const podState = () => new Map(env.pods(name).map((p) => [p.metadata!.name!, `${p.metadata!.uid} restarts=${p.status?.containerStatuses?.[0]?.restartCount ?? 0}`]));
    const pods = podState();
    await env.kubectl(['delete', 'secret', `${victim}-tls`]);
    const back = await env.waitGroup(name, `${victim}-tls reissued`, () => {
      const p = secretPems(env, `${victim}-tls`);
      return p && parseCertificate(p.cert).serialNumber !== serial && p;
    }, 60_000);
    assert.equal(parseCertificate(back.cert).subject.commonName, victim);
    await env.waitGroup(name, 'still settled', (g) => settled(g, 3) && g, 60_000);
    assert.deepEqual(podState(), pods, 'no pod was replaced or restarted');
    // The reissued certificate reaches the running member (the kubelet updates the Secret volume;
    // the replica re-reads its files): new connections get it, still without a restart.
    const app = secretPems(env, 'secure-app')!;
    let last = '';
    const want = normalSerial(parseCertificate(back.cert).serialNumber);
    const deadline = Date.now() + 60_000;
    while ((last = await servedSerial(env.podIP(victim)!, host(victim, name), back.ca, app).catch((e: Error) => `error ${e.message}`)) !== want) {
      assert.ok(Date.now() < deadline, `${victim} still serves ${last}, not the reissued ${want}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.deepEqual(podState(), pods, 'no pod was restarted to pick it up');
    assert.ok(env.eventLines(name).some((l) => l.startsWith(`Normal IssueCertificate: issue certificate ${victim} into Secret ${victim}-tls (missing)`)), env.eventLines(name).join('\n'));
  });
});
