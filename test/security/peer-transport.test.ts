// The peer transport over mutual TLS, in one process with the replica's own
// pieces (TlsFiles, PeerDialer, the peer access check) and certificates from operator/pki: members on their own
// loopback addresses talk; a certificate from another CA gets nowhere in
// either direction; a member's certificate cannot speak for another member;
// and removing a member cuts its open stream at the next message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import * as grpc from '@grpc/grpc-js';
import { createCertificateAuthority, issueCertificate, type CertificateBundle } from '../../operator/pki/index.ts';
import { PeerTransport } from '../../replica/transport/index.ts';
import { TlsFiles, peerAccessCheck, type MemberDirectory } from '../../replica/server/tls/index.ts';
import { PeerDialer } from '../../replica/server/peer-dial.ts';
import { message, type Message } from '../../replica/raft/index.ts';
import { pickSubnet, waitFor } from '../e2e/replica-cluster.ts';

const log = pino({ level: process.env.SECURITY_TEST_LOG ?? 'silent' });

/** Directory is a mutable member table: id → peer URL. */
class Directory implements MemberDirectory {
  current = new Map<number, string[]>();
  removed = new Map<number, string[]>();
  get(id: number) {
    const u = this.current.get(id);
    return u ? { peerURLs: u } : undefined;
  }
  isRemoved(id: number) {
    return this.removed.has(id);
  }
  list() {
    return [...this.current].map(([id, peerURLs]) => ({ id, peerURLs }));
  }
  removedMembers() {
    return [...this.removed].map(([id, peerURLs]) => ({ id, peerURLs }));
  }
  remove(id: number) {
    this.removed.set(id, this.current.get(id)!);
    this.current.delete(id);
  }
}

interface Member {
  id: number;
  url: string;
  transport: PeerTransport;
  received: Message[];
  refused: string[];
}

async function startMember(t: { after(fn: () => unknown): void }, dir: string, id: number, ip: string, ca: CertificateBundle, trust: string, members: Directory, cert?: CertificateBundle): Promise<Member> {
  const issued = cert ?? issueCertificate(ca, { profile: 'peer', commonName: `m${id}`, ipAddresses: [ip] });
  const d = path.join(dir, `m${id}`);
  fs.mkdirSync(d, { recursive: true });
  fs.writeFileSync(path.join(d, 'peer.pem'), issued.certificatePem);
  fs.writeFileSync(path.join(d, 'peer-key.pem'), issued.privateKeyPem);
  fs.writeFileSync(path.join(d, 'ca.pem'), trust);
  const files = new TlsFiles(
    { certFile: path.join(d, 'peer.pem'), keyFile: path.join(d, 'peer-key.pem'), trustedCaFile: path.join(d, 'ca.pem') },
    { flags: { cert: '--peer-cert-file', key: '--peer-key-file', ca: '--peer-trusted-ca-file' }, log, reloadIntervalMs: 60_000 },
  );
  const dialer = new PeerDialer({ tls: files, overrides: new Map(), members: () => members });
  const refused: string[] = [];
  const received: Message[] = [];
  const interceptLog = { warn: (o: { reason: string }) => refused.push(o.reason) } as unknown as typeof log;
  const transport = new PeerTransport({
    memberId: id,
    clusterId: 'tls-test',
    listenUrl: `https://${ip}:0`,
    logger: log,
    onMessages: (msgs) => received.push(...msgs),
    onUnreachable: () => undefined,
    onSnapshotStatus: () => undefined,
    tuning: { backoffInitialMs: 20, backoffMaxMs: 200, connectTimeoutMs: 2000 },
    security: {
      serverTls: files,
      dial: (peer, address) => ({ tls: dialer.tlsOptions({ memberId: peer }, address.host) }),
      admit: peerAccessCheck(() => members, true, interceptLog),
    },
  });
  await transport.start();
  t.after(async () => {
    await transport.close();
    files.stop();
  });
  return { id, url: transport.listenUrl, transport, received, refused };
}

function heartbeat(from: number, to: number, term = 1): Message {
  return message({ type: 'heartbeat', from, to, term });
}

test('peer links over mutual TLS: members talk, a foreign CA and a borrowed identity get nowhere, a removed member is cut off', async (t) => {
  grpc.setLogVerbosity(grpc.logVerbosity.NONE);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-peer-tls-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const subnet = pickSubnet();
  const ca = createCertificateAuthority({ commonName: 'group CA' });
  const members = new Directory();
  const [m1, m2, m3] = await Promise.all([1, 2, 3].map((id) => startMember(t, dir, id, `${subnet}.${id}`, ca, ca.certificatePem, members)));
  for (const m of [m1, m2, m3]) members.current.set(m.id, [m.url]);
  for (const a of [m1, m2, m3]) for (const b of [m1, m2, m3]) if (a !== b) a.transport.addPeer(b.id, b.url);

  // 1. Members talk to each other.
  await waitFor('every link up', () => [m1, m2, m3].every((m) => Object.values(m.transport.stats().peers).every((p) => p.state === 'connected')), 20_000);
  m2.transport.send([heartbeat(2, 1)]);
  m3.transport.send([heartbeat(3, 1)]);
  await waitFor('m1 hears m2 and m3', () => m1.received.some((m) => m.from === 2) && m1.received.some((m) => m.from === 3), 10_000);

  // 2. A member with a certificate from another CA (same names!) is refused at the handshake, both ways.
  const foreignCa = createCertificateAuthority({ commonName: 'group CA' });
  const ip4 = `${subnet}.4`;
  const m4 = await startMember(t, dir, 4, ip4, foreignCa, foreignCa.certificatePem, members);
  members.current.set(4, [m4.url]);
  m4.transport.addPeer(1, m1.url);
  m1.transport.addPeer(4, m4.url);
  m4.transport.send([heartbeat(4, 1)]);
  await waitFor('both links to fail', () => m4.transport.stats().peers['1'].connectFailures >= 2 && m1.transport.stats().peers['4'].connectFailures >= 2, 20_000);
  assert.equal(m4.transport.stats().peers['1'].connects, 0);
  assert.equal(m1.transport.stats().peers['4'].connects, 0);
  assert.ok(!m1.received.some((m) => m.from === 4), 'nothing from the foreign member arrived');
  m1.transport.removePeer(4);
  members.current.delete(4);

  // 3. A certificate of the group CA that names m3's address, used by a process claiming to be m2.
  const thief = await startMember(t, dir, 2, `${subnet}.5`, ca, ca.certificatePem, members, issueCertificate(ca, { profile: 'peer', commonName: 'm3', ipAddresses: [`${subnet}.3`] }));
  thief.transport.addPeer(1, m1.url);
  await waitFor('the impostor to be refused', () => m1.refused.some((r) => /does not name member 2/.test(r)), 20_000);
  assert.equal(thief.transport.stats().peers['1'].connects, 0, 'its stream never got the acknowledgement');

  // 4. m3 is removed while its stream to m1 is open: its next message is refused and its stream ends.
  const before = m1.received.filter((m) => m.from === 3).length;
  members.remove(3);
  m3.transport.send([heartbeat(3, 1, 2)]);
  await waitFor('m3 cut off', () => m1.refused.some((r) => /member 3 was removed/.test(r)), 10_000);
  await waitFor('m3 sees its link fail', () => m3.transport.stats().peers['1'].connectFailures >= 1, 10_000);
  m3.transport.send([heartbeat(3, 1, 3)]);
  // m2 still gets through: the removal touched m3 only.
  m2.transport.send([heartbeat(2, 1, 4)]);
  await waitFor('m2 still heard', () => m1.received.some((m) => m.from === 2 && m.term === 4), 10_000);
  assert.equal(m1.received.filter((m) => m.from === 3).length, before, 'nothing from m3 was delivered after its removal');
});
