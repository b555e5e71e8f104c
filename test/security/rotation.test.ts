// Certificate rotation under a running TLS group with a client load: the
// members' certificates are replaced on disk (first new leaves from the same
// CA, then a move to a new CA through a trust bundle), nobody is restarted,
// and no client request fails beyond one retry. New connections get the new
// certificates on both ports; once the old CA is dropped, its certificates
// are refused; a member restarted at the end rejoins with the new material.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { createCertificateAuthority, parseCertificate, type CertificateBundle } from '../../operator/pki/index.ts';
import { EtcdClient } from '../e2e/etcd-client.ts';
import { writeAtomic } from '../e2e/cluster-tls.ts';
import { ReplicaCluster, waitFor, type MemberProcess } from '../e2e/replica-cluster.ts';
import { launch, statusOf } from './launch.ts';

/** Load keeps writers busy; each request may be retried once; the client is re-dialled every few requests (new handshakes). */
class Load {
  readonly acked = new Map<string, string>();
  readonly failures: string[] = [];
  retries = 0;
  private running = true;
  private readonly done: Promise<void>;

  constructor(t: { after(fn: () => Promise<void>): void }, ms: MemberProcess[], dial: (m: MemberProcess) => { credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions }, writers = 3) {
    t.after(() => this.stop());
    this.done = Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        let i = 0;
        let client: EtcdClient | undefined;
        const fresh = () => {
          client?.close();
          const m = ms[(w + i) % ms.length];
          const d = dial(m);
          client = new EtcdClient(m.endpoint, 8000, d.credentials, d.options);
          return client;
        };
        fresh();
        while (this.running) {
          const key = `rot/${w}/${i}`;
          const value = `v${i}`;
          try {
            await client!.put(key, value);
          } catch (first) {
            this.retries++;
            try {
              await fresh().put(key, value);
            } catch (second) {
              this.failures.push(`${key}: ${(first as Error).message} / retry: ${(second as Error).message}`);
            }
          }
          this.acked.set(key, value);
          i++;
          if (i % 20 === 0) fresh();
        }
        client?.close();
      }),
    ).then(() => undefined);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

/** servedSerial is the serial number of the certificate a new TLS connection to host:port is given. */
function servedSerial(host: string, port: number, ca: string, client: CertificateBundle): Promise<bigint> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host, port, ca, cert: client.certificatePem, key: client.privateKeyPem, ALPNProtocols: ['h2'], checkServerIdentity: () => undefined }, () => {
      const serial = BigInt(`0x${s.getPeerCertificate().serialNumber}`);
      s.destroy();
      resolve(serial);
    });
    s.on('error', reject);
  });
}

test('rotating leaf certificates and then the CA under a client load: no failed request beyond one retry, no restart', async (t) => {
  const cluster = new ReplicaCluster(t, { tls: { clientCertAuth: true }, extraFlags: ['--tls-reload-interval', '1000'] });
  const ms = await launch(cluster, 3);
  const tlsc = cluster.tls!;
  const ca1 = tlsc.ca;
  let appCert = tlsc.issue('client', 'app');
  let trust = ca1.certificatePem;
  const dial = (m: MemberProcess) => {
    const verify = { checkServerIdentity: (_h: string, c: tls.PeerCertificate) => tls.checkServerIdentity(m.ip, c) };
    return {
      credentials: grpc.credentials.createSsl(Buffer.from(trust), Buffer.from(appCert.privateKeyPem), Buffer.from(appCert.certificatePem), verify),
      options: { 'grpc.ssl_target_name_override': 'replicant.invalid' },
    };
  };
  const load = new Load(t, ms, dial);
  await waitFor('the load to run', () => load.acked.size > 30, 30_000);
  const streamFailures = () => ms.reduce((n, m) => n + m.log.filter((l) => /peer stream failed/.test(l)).length, 0);
  const failuresBefore = streamFailures();

  const expectServed = async (m: MemberProcess, port: number, serial: string, who: CertificateBundle, what: string) =>
    waitFor(`${m.name} to serve its new ${what} certificate`, async () => (await servedSerial(m.ip, port, trust, who)) === BigInt(`0x${serial}`), 20_000);

  // 1. New leaf certificates from the same CA, member by member.
  for (const m of ms) {
    tlsc.writeMember(m.name, m.ip);
    const server = fs.readFileSync(tlsc.memberFiles(m.name).serverCert, 'utf8');
    const peer = fs.readFileSync(tlsc.memberFiles(m.name).peerCert, 'utf8');
    await expectServed(m, 2379, parseCertificate(server).serialNumber, appCert, 'client-port');
    const memberCert = { certificatePem: peer, privateKeyPem: fs.readFileSync(tlsc.memberFiles(m.name).peerKey, 'utf8'), info: parseCertificate(peer) };
    await expectServed(m, 2380, memberCert.info.serialNumber, memberCert, 'peer-port');
  }
  const afterLeaves = load.acked.size;
  await waitFor('the load to go on after the leaf rotation', () => load.acked.size > afterLeaves + 30, 30_000);

  // 2. A new CA: trust both, move every certificate to the new CA, then trust only the new one.
  const ca2 = createCertificateAuthority({ commonName: 'replicant test group CA 2', organization: 'replicant' });
  trust = `${ca1.certificatePem}${ca2.certificatePem}`;
  writeAtomic(tlsc.caFile, trust);
  for (const m of ms) tlsc.writeMember(m.name, m.ip, ca2);
  const oldApp = appCert;
  // The load switches to a CA-2 client certificate only once every member trusts CA 2: a member
  // takes the new CA file at its next reload (watch or --tls-reload-interval), and a client that
  // presented a CA-2 certificate before that would be refused twice in a row (its retry is immediate).
  const nextApp = tlsc.issue('client', 'app', {}, ca2);
  for (const m of ms) {
    await waitFor(`${m.name} to accept a CA-2 client certificate`, async () => {
      const probe = new EtcdClient(
        m.endpoint,
        3000,
        grpc.credentials.createSsl(Buffer.from(trust), Buffer.from(nextApp.privateKeyPem), Buffer.from(nextApp.certificatePem), { checkServerIdentity: () => undefined }),
        { 'grpc.ssl_target_name_override': 'replicant.invalid' },
      );
      try {
        await probe.put(`rot/probe/${m.name}`, 'ca2');
        return true;
      } catch {
        return false;
      } finally {
        probe.close();
      }
    }, 20_000);
  }
  appCert = nextApp;
  tlsc.ca = ca2;
  tlsc.operator = tlsc.issue('client', 'replicant-operator');
  for (const m of ms) {
    await expectServed(m, 2379, parseCertificate(fs.readFileSync(tlsc.memberFiles(m.name).serverCert, 'utf8')).serialNumber, appCert, 'CA-2 client-port');
  }
  const midCa = load.acked.size;
  await waitFor('the load to go on with the trust bundle', () => load.acked.size > midCa + 30, 30_000);
  trust = ca2.certificatePem;
  writeAtomic(tlsc.caFile, trust);
  // The old CA's client certificate is refused on new connections once its CA is no longer trusted.
  await waitFor('a CA-1 client certificate to be refused', async () => {
    try {
      const d = dial(ms[0]);
      const c = new EtcdClient(ms[0].endpoint, 3000, grpc.credentials.createSsl(Buffer.from(trust), Buffer.from(oldApp.privateKeyPem), Buffer.from(oldApp.certificatePem), { checkServerIdentity: () => undefined }), d.options);
      try {
        await c.get('x');
        return false;
      } finally {
        c.close();
      }
    } catch (e) {
      return (e as grpc.ServiceError).code === grpc.status.UNAVAILABLE;
    }
  }, 20_000);
  const endCa = load.acked.size;
  await waitFor('the load to go on with only the new CA', () => load.acked.size > endCa + 30, 30_000);
  const rotationStreamFailures = streamFailures() - failuresBefore;
  await load.stop();
  assert.deepEqual(load.failures, [], 'no request failed twice');
  assert.ok(load.acked.size > 150, `writes went on (${load.acked.size})`);
  assert.equal(rotationStreamFailures, 0, 'no peer stream was dropped by the rotations');
  t.diagnostic(`acked ${load.acked.size} writes during the rotations, ${load.retries} retried once, 0 failed`);

  // 3. A follower restarted now rejoins over new peer handshakes with the new material.
  const leader = await cluster.waitLeader(ms, 30_000);
  const follower = ms.find((m) => m !== leader)!;
  await cluster.kill(follower);
  cluster.start(follower, 'new', cluster.initialCluster(ms));
  const commit = (await statusOf(cluster, leader)).commitIndex as number;
  await waitFor('the restarted member to catch up', async () => (await statusOf(cluster, follower)).appliedIndex >= commit, 60_000);

  const reader = cluster.client(ms.find((m) => m !== follower)!);
  for (const [k, v] of [...load.acked].filter((_, i) => i % 25 === 0)) assert.equal((await reader.get(k))?.value, v, `acknowledged ${k}`);
});
