// The peer port of a real TLS replica group (certificates from operator/pki):
// a certificate from another CA is refused, so a member restarted with one
// falls behind (and says why) until its certificate files are fixed, which is
// picked up without a restart; a certificate of the group CA that names no
// member cannot use the relayed admin API; a member replaced through the
// admin API (new certificate issued) works, and the removed member's
// certificate can neither rejoin with its old data nor join afresh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { createCertificateAuthority } from '../../operator/pki/index.ts';
import { adminClient } from '../../replica/server/admin-service.ts';
import { clientConstructor, loadProtos } from '../../proto/grpc.ts';
import { ReplicaCluster, waitFor, type MemberProcess } from '../e2e/replica-cluster.ts';
import { launch, statusOf } from './launch.ts';
import { writeAtomic } from '../e2e/cluster-tls.ts';
import type { EtcdClient } from '../e2e/etcd-client.ts';

function peerCall(target: MemberProcess, creds: grpc.ChannelCredentials, service: 'admin' | 'membership', method: string, req: object): Promise<grpc.ServiceError | null> {
  const options = { 'grpc.ssl_target_name_override': 'replicant.invalid' };
  const address = `${target.ip}:2380`;
  const c =
    service === 'admin'
      ? adminClient(address, creds, options)
      : (new (clientConstructor(loadProtos('peer.proto'), 'replicant.peer.v1.Membership'))(address, creds, options) as unknown as grpc.Client & Record<string, Function>);
  return new Promise((resolve) =>
    c[method](req, { deadline: Date.now() + 8000 }, (err: grpc.ServiceError | null) => {
      c.close();
      resolve(err);
    }),
  );
}

/** putRetrying retries a put while the group changes leaders (this test is about who gets in, not latency). */
async function putRetrying(c: EtcdClient, key: string, value: string): Promise<void> {
  await waitFor(`put ${key}`, async () => {
    await c.put(key, value);
    return true;
  }, 30_000);
}

function refusals(m: MemberProcess, re: RegExp): string[] {
  return m.log.filter((l) => l.includes('refused a peer call') && re.test(l));
}

test('peer port: another CA is refused, a non-member cannot relay, a replaced member cannot come back', async (t) => {
  grpc.setLogVerbosity(grpc.logVerbosity.NONE);
  const cluster = new ReplicaCluster(t, { tls: {} });
  const ms = await launch(cluster, 3);
  const tls = cluster.tls!;
  const ca = fs.readFileSync(tls.caFile);
  const writes = cluster.client(ms[0]);
  for (let i = 0; i < 20; i++) await putRetrying(writes, `before/${i}`, `v${i}`);

  // 1. A client certificate from another CA does not get through the handshake.
  const foreignCa = createCertificateAuthority({ commonName: 'replicant test group CA', organization: 'replicant' });
  const foreign = tls.issue('peer', 'm1', { ipAddresses: [ms[0].ip] }, foreignCa);
  const check = { checkServerIdentity: () => undefined };
  const foreignCreds = grpc.credentials.createSsl(ca, Buffer.from(foreign.privateKeyPem), Buffer.from(foreign.certificatePem), check);
  const e1 = await peerCall(ms[0], foreignCreds, 'membership', 'FindMember', { peerUrl: ms[0].peerUrl });
  assert.equal(e1?.code, grpc.status.UNAVAILABLE, `foreign CA: ${e1?.details}`);

  // 2. A group certificate that names no member may not relay admin calls (nor remove anyone).
  const outsider = tls.issue('peer', 'outsider', { ipAddresses: [`${cluster.subnet}.200`] });
  const outsiderCreds = grpc.credentials.createSsl(ca, Buffer.from(outsider.privateKeyPem), Buffer.from(outsider.certificatePem), check);
  const before = await statusOf(cluster, ms[0]);
  const e2 = await peerCall(ms[0], outsiderCreds, 'admin', 'ChangeMembership', { requestId: 'outsider', remove: [before.members[0].id] });
  assert.equal(e2?.code, grpc.status.PERMISSION_DENIED);
  assert.match(e2!.details, /relayed only by a current member/);

  // 3. m2 restarts with a peer certificate from another CA: the others refuse its handshakes and it falls
  //    behind; once its files hold a group certificate again it is let back in, without a restart.
  const m2 = ms[1];
  await cluster.kill(m2);
  const m2Files = tls.memberFiles(m2.name);
  const goodCert = fs.readFileSync(m2Files.peerCert, 'utf8');
  const goodKey = fs.readFileSync(m2Files.peerKey, 'utf8');
  const foreignM2 = tls.issue('peer', m2.name, { ipAddresses: [m2.ip] }, foreignCa);
  writeAtomic(m2Files.peerKey, foreignM2.privateKeyPem);
  writeAtomic(m2Files.peerCert, foreignM2.certificatePem);
  m2.log.length = 0;
  cluster.start(m2, 'new', cluster.initialCluster(ms));
  await cluster.waitLeader([ms[0], ms[2]], 30_000);
  for (let i = 0; i < 20; i++) await putRetrying(writes, `while-foreign/${i}`, `v${i}`);
  await waitFor('m2 to log why its peer handshakes are refused', () => m2.log.some((l) => /cannot connect to peer/.test(l) && /TLS handshake .* failed: .*(refused this member's certificate|not accept this member's --peer-cert-file)/.test(l)), 30_000);

  const commit = (await statusOf(cluster, ms[0])).commitIndex as number;
  assert.ok((await statusOf(cluster, m2)).appliedIndex < commit, 'm2 did not catch up with a foreign certificate');
  writeAtomic(m2Files.peerKey, goodKey);
  writeAtomic(m2Files.peerCert, goodCert);
  await waitFor('m2 to catch up once its certificate is fixed', async () => (await statusOf(cluster, m2)).appliedIndex >= commit, 30_000);

  // 4. Replace m3 by m5 in one change (a fresh certificate for m5), as the operator does.
  const [, , old] = ms;
  const oldId = (await statusOf(cluster, old)).memberId as number;
  const fresh = cluster.define();
  cluster.start(fresh, 'existing', cluster.initialCluster([...ms, fresh]));
  const replaced = await cluster.admin(ms[0], 'ChangeMembership', { requestId: 'replace-m3', add: [{ name: fresh.name, peerUrls: [fresh.peerUrl] }], remove: [oldId] }, 60_000);
  assert.ok(!replaced.configuration.voters.includes(oldId));
  const group = [ms[0], ms[1], fresh];
  await cluster.kill(old);
  await putRetrying(writes, 'after', 'replacement');
  await waitFor('the new member to hold the data', async () => (await cluster.client(fresh).get('after', { serializable: true }))?.value === 'replacement', 30_000);

  // 5. The removed member restarts with its data dir and certificate: refused by every member it calls.
  cluster.start(old, 'new', cluster.initialCluster(ms));
  await waitFor('the removed member to be refused', () => group.some((m) => refusals(m, new RegExp(`member ${oldId.toString(16)} was removed`)).length > 0), 30_000);
  // 6. ...and afresh (empty data dir, same certificate): it cannot even ask who it is.
  await cluster.kill(old);
  fs.rmSync(old.dataDir, { recursive: true, force: true });
  cluster.start(old, 'existing', cluster.initialCluster([ms[0], ms[1], fresh, old]));
  await waitFor('the removed member\'s certificate to be refused', () => group.some((m) => refusals(m, /belongs to removed member/).length > 0), 30_000);
  const status = await statusOf(cluster, ms[0]);
  assert.deepEqual(
    status.members.map((m: { name: string }) => m.name).sort(),
    group.map((m) => m.name).sort(),
    'the removed member is not back',
  );
  assert.ok(!status.configuration.voters.includes(oldId) && !status.configuration.learners.includes(oldId));
  await putRetrying(writes, 'still', 'serving');
  assert.equal((await cluster.client(ms[1]).get('still'))?.value, 'serving');
  assert.ok(fs.existsSync(path.join(tls.dir, fresh.name, 'peer.pem')), 'the new member got its own certificate');
});
