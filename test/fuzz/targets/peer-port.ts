// Network fuzz targets for the peer port:
//  - peer-grpc: the plaintext member's Raft.Stream (mutated MessageBatch
//    frames), Raft.SendSnapshot (mutated chunks, huge declared sizes) and
//    Membership calls, under varied caller metadata (unknown member, none,
//    malformed, another cluster, the member itself). The frames' messages are
//    addressed to and from members that do not exist, so decoding is reached
//    but raft must see nothing: store, term and leader stay as they were;
//  - peer-h2: mutated byte streams of real peer calls on raw TCP;
//  - peer-tls: the TLS member's peer port — mutated TLS handshakes on raw
//    TCP, and calls without a certificate, with another CA's, with an
//    application's, and with a non-member peer certificate claiming to be the
//    member itself: refused; an unknown (new) member's frames are decoded and
//    dropped; nothing may change.
import fs from 'node:fs';
import tls from 'node:tls';
import zlib from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { createCertificateAuthority, issueCertificate, type CertificateBundle } from '../../../operator/pki/index.ts';
import { loadProtos } from '../../../proto/grpc.ts';
import type { FuzzEnv, Target } from '../env.ts';
import { Rng, mutate } from '../mutate.ts';
import { FuzzFailure, Tally, type FuzzTarget } from '../target.ts';
import { bidi, capture, clientStream, exchange, inParallel, unary } from '../wire.ts';

const raft = loadProtos('raft.proto');
const peer = loadProtos('peer.proto');
const MessageBatch = raft.lookupType('replicant.raft.v1.MessageBatch');
const SnapshotChunk = raft.lookupType('replicant.raft.v1.SnapshotChunk');
const enc = (type: ReturnType<typeof raft.lookupType>, v: object) => Buffer.from(type.encode(v as never).finish());

/** Nobody: ids of members that do not exist (the frames' senders and addressees). */
const TO = 777;
const FROM = 888;
const CALLER = 424242;

function frames(): Buffer[] {
  const entries = [1, 2, 3].map((i) => ({ term: 5, index: 10 + i, type: i === 3 ? 1 : 0, data: Buffer.alloc(20 * i, i) }));
  const base = { to: TO, from: FROM, term: 5, logTerm: 5, index: 10, commit: 12 };
  return [
    enc(MessageBatch, { messages: [{ ...base, type: 11 }] }),
    enc(MessageBatch, { messages: [{ ...base, type: 4, entries }, { ...base, type: 5, reject: true, rejectHint: 3 }] }),
    enc(MessageBatch, { messages: [{ ...base, type: 6 }, { ...base, type: 18, context: Buffer.from('ctx') }, { ...base, type: 12 }] }),
  ];
}

function chunks(): Buffer[][] {
  const data = Buffer.alloc(300, 9);
  const message = { type: 10, to: TO, from: FROM, term: 5, snapshot: { metadata: { index: 40, term: 5, confState: { voters: [FROM] } }, data: Buffer.alloc(0) } };
  return [
    [enc(SnapshotChunk, { message, totalBytes: data.length, crc32: zlib.crc32(data), offset: 0, data: data.subarray(0, 200) }), enc(SnapshotChunk, { totalBytes: data.length, crc32: zlib.crc32(data), offset: 200, data: data.subarray(200) })],
    [enc(SnapshotChunk, { message, totalBytes: 2 ** 31 - 1, crc32: 1, offset: 0, data: data.subarray(0, 10) })],
  ];
}

const membershipSeeds = [Buffer.from(peer.lookupType('replicant.peer.v1.FindMemberRequest').encode({ peerUrl: 'http://127.0.0.1:2380' }).finish()), Buffer.alloc(0)];

function metadataVariant(rng: Rng, t: Target): { md: grpc.Metadata; what: string } {
  const md = new grpc.Metadata();
  const roll = rng.int(10);
  if (roll < 6) {
    md.set('replicant-cluster-id', t.clusterId);
    md.set('replicant-member-id', String(CALLER));
    return { md, what: 'unknown-member' };
  }
  if (roll === 6) return { md, what: 'no-metadata' };
  if (roll === 7) {
    md.set('replicant-cluster-id', t.clusterId);
    md.set('replicant-member-id', rng.bytes(4).toString('latin1').replace(/[^\x20-\x7e]/g, 'x'));
    return { md, what: 'malformed-id' };
  }
  if (roll === 8) {
    md.set('replicant-cluster-id', `${t.clusterId}1`);
    md.set('replicant-member-id', String(CALLER));
    return { md, what: 'other-cluster' };
  }
  md.set('replicant-cluster-id', t.clusterId);
  md.set('replicant-member-id', String(t.memberId));
  return { md, what: 'claims-self' };
}

/** BATCH inputs between state comparisons and liveness checks. */
const BATCH = 40;

/** attackPeer sends one mutated peer call through `client`; returns its outcome name. */
async function attackPeer(client: grpc.Client, t: Target, rng: Rng): Promise<{ outcome: string; input: Buffer }> {
  const fs0 = frames();
  const cs = chunks();
  const { md, what } = metadataVariant(rng, t);
  const kind = rng.int(10);
  if (kind < 5) {
    const n = 1 + rng.int(4);
    const payloads = Array.from({ length: n }, () => (rng.chance(0.1) ? rng.bytes(rng.int(100)) : mutate(rng.pick(fs0), rng, fs0)));
    const r = await bidi(client, '/replicant.raft.v1.Raft/Stream', payloads, md, 8000);
    if (r.code === grpc.status.DEADLINE_EXCEEDED) return { outcome: 'hang', input: payloads[0] };
    return { outcome: `stream-${what}-${grpc.status[r.code]}`, input: payloads[0] };
  }
  if (kind < 8) {
    const chosen = rng.pick(cs);
    const payloads = chosen.map((c) => (rng.chance(0.7) ? mutate(c, rng, chosen) : c));
    const r = await clientStream(client, '/replicant.raft.v1.Raft/SendSnapshot', payloads, md, 8000);
    if (r.code === grpc.status.DEADLINE_EXCEEDED) return { outcome: 'hang', input: payloads[0] };
    if (r.code === grpc.status.OK) return { outcome: 'snapshot-accepted', input: payloads[0] };
    return { outcome: `snapshot-${what}-${grpc.status[r.code]}`, input: payloads[0] };
  }
  const path = rng.chance(0.5) ? '/replicant.peer.v1.Membership/FindMember' : '/replicant.peer.v1.Membership/Checkpoints';
  const input = rng.chance(0.2) ? rng.bytes(rng.int(60)) : mutate(rng.pick(membershipSeeds), rng, membershipSeeds);
  const r = await unary(client, path, input, 8000, md);
  if (r.code === grpc.status.DEADLINE_EXCEEDED) return { outcome: 'hang', input };
  return { outcome: `membership-${grpc.status[r.code]}`, input };
}

async function peerCalls(name: string, t: Target, client: grpc.Client, seed: number, budgetMs: number, tally: Tally, check?: (outcome: string, input: Buffer, i: number) => void, label = ''): Promise<void> {
  const rng = new Rng(seed);
  let baseline = await t.probe.state();
  const deadline = performance.now() + budgetMs;
  for (let i = 0; i === 0 || performance.now() < deadline; i++) {
    const { outcome, input } = await attackPeer(client, t, rng);
    if (outcome === 'hang') throw new FuzzFailure(name, seed, i, input, 'a peer call did not end within 8 s');
    if (outcome === 'snapshot-accepted') throw new FuzzFailure(name, seed, i, input, 'a snapshot for a member that does not exist was accepted');
    check?.(outcome, input, i);
    tally.add(`${label}${outcome}`);
    if (i % BATCH === BATCH - 1) {
      const now = await t.probe.state();
      if (now !== baseline) throw new FuzzFailure(name, seed, i, input, `peer input changed the state: ${baseline} → ${now}`);
      await t.probe.serving();
      baseline = await t.probe.state();
    }
  }
  const now = await t.probe.state();
  if (now !== baseline) throw new FuzzFailure(name, seed, -1, '', `peer input changed the state: ${baseline} → ${now}`);
  await t.probe.serving();
}

export function peerGrpcTarget(t: Target): FuzzTarget {
  return {
    name: 'peer-grpc',
    async run(seed, budgetMs) {
      const started = performance.now();
      const tally = new Tally();
      const client = new grpc.Client(`${t.member.ip}:2380`, grpc.credentials.createInsecure());
      try {
        await peerCalls('peer-grpc', t, client, seed, budgetMs, tally, (outcome, input, i) => {
          if (outcome.includes('claims-self') && !outcome.endsWith('FAILED_PRECONDITION') && !outcome.startsWith('membership')) {
            throw new FuzzFailure('peer-grpc', seed, i, input, `a call claiming to be the member itself was not refused: ${outcome}`);
          }
        });
      } finally {
        client.close();
      }
      return tally.report('peer-grpc', started);
    },
  };
}

async function rawPeer(name: string, t: Target, seed: number, budgetMs: number, seeds: Buffer[], tally: Tally): Promise<void> {
  const rng = new Rng(seed);
  let baseline = await t.probe.state();
  const deadline = performance.now() + budgetMs;
  for (let batch = 0; batch === 0 || performance.now() < deadline; batch++) {
    const inputs = Array.from({ length: 16 }, () => (rng.chance(0.1) ? rng.bytes(rng.int(200)) : mutate(rng.pick(seeds), rng, seeds, 8)));
    for (const o of await inParallel(inputs, 8, (input) => exchange(t.member.ip, 2380, input))) tally.add(`raw-${o}`);
    if (!t.probe.alive()) throw new FuzzFailure(name, seed, batch, inputs[0], 'the replica exited');
    if (batch % 4 === 3) {
      baseline = await t.probe.recheck(baseline, (now) => new FuzzFailure(name, seed, batch, inputs[0], `raw bytes changed the state: ${baseline} → ${now}`));
    }
  }
  await t.probe.serving();
}

export function peerH2Target(t: Target): FuzzTarget {
  return {
    name: 'peer-h2',
    async run(seed, budgetMs) {
      const started = performance.now();
      const tally = new Tally();
      const seeds = await capture(t.member.ip, 2380, async (address) => {
        const c = new grpc.Client(address, grpc.credentials.createInsecure());
        const md = new grpc.Metadata();
        md.set('replicant-cluster-id', t.clusterId);
        md.set('replicant-member-id', String(CALLER));
        await bidi(c, '/replicant.raft.v1.Raft/Stream', frames(), md, 5000);
        await clientStream(c, '/replicant.raft.v1.Raft/SendSnapshot', chunks()[0], md, 5000);
        await unary(c, '/replicant.peer.v1.Membership/FindMember', membershipSeeds[0], 5000);
        c.close();
      });
      await rawPeer('peer-h2', t, seed, budgetMs, seeds, tally);
      return tally.report('peer-h2', started);
    },
  };
}

export function peerTlsTarget(t: Target): FuzzTarget {
  return {
    name: 'peer-tls',
    async run(seed, budgetMs) {
      const started = performance.now();
      const tally = new Tally();
      const tlsc = t.cluster.tls!;
      const ca = Buffer.from(tlsc.ca.certificatePem);
      const files = tlsc.memberFiles(t.member.name);
      const member: CertificateBundle = { certificatePem: fs.readFileSync(files.peerCert, 'utf8'), privateKeyPem: fs.readFileSync(files.peerKey, 'utf8'), info: undefined as never };
      // Raw: mutated TLS handshakes of a real member certificate.
      const handshakes = await capture(t.member.ip, 2380, (address) => {
        const [host, port] = address.split(':');
        return new Promise<void>((resolve) => {
          const s = tls.connect({ host, port: Number(port), ca, cert: member.certificatePem, key: member.privateKeyPem, ALPNProtocols: ['h2'], checkServerIdentity: () => undefined }, () => {
            setTimeout(() => {
              s.destroy();
              resolve();
            }, 100);
          });
          s.on('error', () => resolve());
        });
      });
      await rawPeer('peer-tls', t, seed, budgetMs / 3, handshakes, tally);
      // gRPC: who may call with what.
      const foreignCa = createCertificateAuthority({ commonName: 'replicant test group CA', organization: 'replicant' });
      const certs = {
        none: undefined,
        foreign: issueCertificate(foreignCa, { profile: 'peer', commonName: 'm1', ipAddresses: [t.member.ip] }),
        app: tlsc.issue('client', 'app'),
        outsider: tlsc.issue('peer', 'outsider', { ipAddresses: ['127.0.0.254'] }),
      };
      const verify = { checkServerIdentity: () => undefined };
      const options = { 'grpc.ssl_target_name_override': 'replicant.invalid' };
      const rng = new Rng(seed ^ 0x5a5a5a5a);
      const per = (2 * budgetMs) / 3 / 4;
      for (const [who, c] of Object.entries(certs)) {
        const creds = c ? grpc.credentials.createSsl(ca, Buffer.from(c.privateKeyPem), Buffer.from(c.certificatePem), verify) : grpc.credentials.createSsl(ca, null, null, verify);
        const client = new grpc.Client(`${t.member.ip}:2380`, creds, options);
        try {
          await peerCalls(`peer-tls-${who}`, t, client, rng.int(2 ** 31), per, tally, (outcome, input, i) => {
            const code = outcome.slice(outcome.lastIndexOf('-') + 1);
            const refused = who === 'none' || who === 'foreign' ? code === 'UNAVAILABLE' : who === 'app' ? code === 'PERMISSION_DENIED' : true;
            // A non-member peer certificate claiming the member's own id is refused by the access rules.
            const selfClaimRefused = who !== 'outsider' || !outcome.includes('claims-self') || code === 'PERMISSION_DENIED';
            if (!refused || !selfClaimRefused) throw new FuzzFailure('peer-tls', seed, i, input, `${who} certificate: ${outcome}`);
          }, `${who}:`);
        } finally {
          client.close();
        }
      }
      return tally.report('peer-tls', started);
    },
  };
}

export function peerPortTargets(env: FuzzEnv): FuzzTarget[] {
  return [peerGrpcTarget(env.plain), peerH2Target(env.plain), peerTlsTarget(env.tls)];
}
