// The client port of real TLS replica groups (certificates from operator/pki):
// etcdctl with --cacert/--cert/--key works; with --client-cert-auth a client
// without a certificate, or with one from another CA, is refused; the admin
// API and membership changes take only the operator's identity, with or
// without --client-cert-auth, and a follower relays them to the leader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { createCertificateAuthority, issueCertificate, type CertificateBundle } from '../../operator/pki/index.ts';
import { adminClient } from '../../replica/server/admin-service.ts';
import { EtcdClient } from '../e2e/etcd-client.ts';
import { ReplicaCluster, type MemberProcess } from '../e2e/replica-cluster.ts';
import { launch } from './launch.ts';

const run = promisify(execFile);

/** etcdctl runs etcdctl over TLS; `creds` are extra flags (--cert/--key). Resolves stdout or rejects with stderr. */
async function etcdctl(cluster: ReplicaCluster, ms: MemberProcess[], creds: string[], args: string[]): Promise<string> {
  const { stdout } = await run(
    'etcdctl',
    [`--endpoints=${ms.map((m) => m.clientUrl).join(',')}`, `--cacert=${cluster.tls!.caFile}`, '--dial-timeout=3s', '--command-timeout=5s', ...creds, ...args],
    { env: { ...process.env, ETCDCTL_API: '3' } },
  );
  return stdout;
}

function certFlags(cluster: ReplicaCluster, name: string, c: CertificateBundle): string[] {
  const f = cluster.tls!.writeClient(name, c);
  return [`--cert=${f.cert}`, `--key=${f.key}`];
}

/** adminCall calls an admin method as `who`; resolves the response or the gRPC status code of the refusal. */
function adminCall(cluster: ReplicaCluster, m: MemberProcess, who: 'operator' | 'anonymous' | CertificateBundle, method: string, req: object = {}): Promise<{ code: grpc.status; details: string; res?: any }> {
  const d = cluster.tls!.dial(m.ip, who);
  const c = adminClient(m.endpoint, d.credentials, d.options);
  return new Promise((resolve) =>
    c[method](req, { deadline: Date.now() + 15_000 }, (err: grpc.ServiceError | null, res: unknown) => {
      c.close();
      resolve(err ? { code: err.code, details: err.details } : { code: grpc.status.OK, details: '', res });
    }),
  );
}

test('--client-cert-auth: etcdctl with a group certificate works; without one, or with another CA\'s, it is refused; only the operator administers', async (t) => {
  const cluster = new ReplicaCluster(t, { tls: { clientCertAuth: true } });
  const ms = await launch(cluster, 3);
  const tls = cluster.tls!;
  const app = tls.issue('client', 'app');
  const appFlags = certFlags(cluster, 'app', app);
  const opFlags = certFlags(cluster, 'operator', tls.operator);

  // etcdctl with the CA and a client certificate of the group CA.
  assert.equal((await etcdctl(cluster, ms, appFlags, ['put', 'greeting', 'hello'])).trim(), 'OK');
  assert.equal((await etcdctl(cluster, [ms[2]], appFlags, ['get', 'greeting', '--print-value-only'])).trim(), 'hello');
  const members = JSON.parse(await etcdctl(cluster, ms, appFlags, ['member', 'list', '-w', 'json'])).members as { name: string; clientURLs: string[]; peerURLs: string[] }[];
  assert.deepEqual(members.map((m) => m.name).sort(), ['m1', 'm2', 'm3']);
  for (const m of members) {
    assert.match(m.clientURLs[0], /^https:\/\//);
    assert.match(m.peerURLs[0], /^https:\/\//);
  }

  // Without a client certificate: refused at the handshake.
  await assert.rejects(etcdctl(cluster, [ms[0]], [], ['get', 'greeting']), 'no client certificate');
  // With a client certificate from another CA (same subject): refused too.
  const foreign = issueCertificate(createCertificateAuthority({ commonName: 'replicant test group CA', organization: 'replicant' }), { profile: 'client', commonName: 'app' });
  await assert.rejects(etcdctl(cluster, [ms[0]], certFlags(cluster, 'foreign', foreign), ['get', 'greeting']), 'a certificate from another CA');
  // Our own gRPC client without a certificate gets nothing either.
  const anon = tls.dial(ms[0].ip, 'anonymous');
  const anonClient = new EtcdClient(ms[0].endpoint, 5000, anon.credentials, anon.options);
  t.after(() => anonClient.close());
  await assert.rejects(anonClient.get('greeting'), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE);

  // The admin API: the operator's certificate yes, the application's no (reads included).
  const status = await adminCall(cluster, ms[0], 'operator', 'Status');
  assert.equal(status.code, grpc.status.OK);
  assert.equal(status.res.configuration.voters.length, 3);
  const denied = await adminCall(cluster, ms[0], app, 'Status');
  assert.equal(denied.code, grpc.status.PERMISSION_DENIED);
  assert.match(denied.details, /CN=app.*not allowed to call the admin API.*replicant-operator/);
  const victim = status.res.members.find((m: { id: number }) => m.id !== status.res.memberId).id as number;
  const change = await adminCall(cluster, ms[0], app, 'ChangeMembership', { requestId: 'evil', remove: [victim] });
  assert.equal(change.code, grpc.status.PERMISSION_DENIED);

  // etcd's Cluster calls that change membership: the application is refused, the operator may.
  await assert.rejects(etcdctl(cluster, ms, appFlags, ['member', 'remove', victim.toString(16)]), /PermissionDenied|permission denied|not allowed/i);
  const learner = await etcdctl(cluster, ms, opFlags, ['member', 'add', 'spare', '--learner', `--peer-urls=https://${cluster.subnet}.99:2380`]);
  const spareId = /Member\s+([0-9a-f]+)\s+added/.exec(learner)?.[1];
  assert.ok(spareId, learner);
  await etcdctl(cluster, ms, opFlags, ['member', 'remove', spareId!]);
  // Peer URLs of a TLS group must be https://.
  await assert.rejects(etcdctl(cluster, ms, opFlags, ['member', 'add', 'plain', '--learner', `--peer-urls=http://${cluster.subnet}.98:2380`]), /must use https:\/\//);

  // A follower relays the operator's membership change to the leader's peer port.
  const leader = await cluster.waitLeader(ms);
  const follower = ms.find((m) => m !== leader)!;
  const noop = await adminCall(cluster, follower, 'operator', 'ChangeMembership', { requestId: 'noop-through-follower', add: [], remove: [], promote: [] });
  assert.equal(noop.code, grpc.status.OK, noop.details);
  assert.equal(noop.res.configuration.voters.length, 3);
  const after = await adminCall(cluster, ms[0], 'operator', 'Status');
  assert.deepEqual([...after.res.configuration.voters].sort(), [...status.res.configuration.voters].sort(), 'refused calls changed nothing');
});

test('without --client-cert-auth: KV needs no client certificate, the admin API still needs the operator\'s (or another allowed identity)', async (t) => {
  const cluster = new ReplicaCluster(t, { tls: { clientCertAuth: false, adminIdentities: ['replicant-operator', 'spiffe://test/ns/ops/sa/admin'] } });
  const [m] = await launch(cluster, 1);
  const tls = cluster.tls!;
  assert.equal((await etcdctl(cluster, [m], [], ['put', 'k', 'v'])).trim(), 'OK', 'etcdctl with only --cacert');
  assert.equal((await etcdctl(cluster, [m], [], ['get', 'k', '--print-value-only'])).trim(), 'v');

  const none = await adminCall(cluster, m, 'anonymous', 'Status');
  assert.equal(none.code, grpc.status.UNAUTHENTICATED);
  assert.match(none.details, /admin call: it needs a client certificate/);
  assert.equal((await adminCall(cluster, m, tls.issue('client', 'app'), 'Status')).code, grpc.status.PERMISSION_DENIED);
  assert.equal((await adminCall(cluster, m, 'operator', 'Status')).code, grpc.status.OK);
  const bySpiffe = tls.issue('client', 'some-workload', { uris: ['spiffe://test/ns/ops/sa/admin'] });
  assert.equal((await adminCall(cluster, m, bySpiffe, 'Status')).code, grpc.status.OK, 'an allowed URI SAN identity');
  const serverCert = tls.issue('server', 'replicant-operator');
  assert.equal((await adminCall(cluster, m, serverCert, 'Status')).code, grpc.status.UNAUTHENTICATED, 'a server certificate does not verify as a client certificate');
  const foreignOp = issueCertificate(createCertificateAuthority({ commonName: 'other' }), { profile: 'client', commonName: 'replicant-operator' });
  assert.equal((await adminCall(cluster, m, foreignOp, 'Status')).code, grpc.status.UNAUTHENTICATED, 'the operator name on another CA\'s certificate');
  await assert.rejects(etcdctl(cluster, [m], [], ['member', 'add', 'x', '--learner', `--peer-urls=https://${cluster.subnet}.97:2380`]), /Unauthenticated|needs a client certificate/i);

  // Plaintext on the TLS port goes nowhere.
  const plain = adminClient(m.endpoint);
  t.after(() => plain.close());
  const err = await new Promise<grpc.ServiceError>((resolve) => plain.Status({}, { deadline: Date.now() + 5000 }, (e: grpc.ServiceError) => resolve(e)));
  assert.ok(err && err.code !== grpc.status.OK);
});
