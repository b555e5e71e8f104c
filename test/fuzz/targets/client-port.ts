// Network fuzz targets for the client port (etcd API + admin API):
//  - client-grpc: valid gRPC framing with mutated or random protobuf for every
//    KV, Maintenance, Cluster and Admin method (plaintext member); a refused
//    write must leave the store and configuration as they were;
//  - client-h2: mutated byte streams of real read-only client connections
//    (HTTP/2 preface, HPACK headers, gRPC frames), HTTP/2 preface plus random
//    frames, and random bytes, on raw TCP; nothing may change;
//  - client-tls: the TLS member — mutated TLS handshakes on raw TCP, and every
//    admin and membership-changing method with mutated payloads from an
//    application certificate or none: each must be refused, nothing may change.
// Membership-changing methods on the plaintext member (no access control
// there) only get inputs that do not decode, so they cannot add members.
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { loadProtos } from '../../../proto/grpc.ts';
import { adminClient } from '../../../replica/server/admin-service.ts';
import { EtcdClient } from '../../e2e/etcd-client.ts';
import type { FuzzEnv, Target } from '../env.ts';
import { Rng, mutate } from '../mutate.ts';
import { FuzzFailure, Tally, type FuzzTarget } from '../target.ts';
import { capture, exchange, inParallel, unary } from '../wire.ts';

const etcd = loadProtos('etcd/rpc.proto');
const admin = loadProtos('admin.proto');
const enc = (root: ReturnType<typeof loadProtos>, type: string, v: object) => Buffer.from(root.lookupType(type).encode(v as never).finish());
const b = (s: string) => Buffer.from(s);

interface Method {
  path: string;
  type: string;
  root: ReturnType<typeof loadProtos>;
  seeds: Buffer[];
  /** writes: a refusal must change nothing, an acceptance may */
  writes: boolean;
  /** membership: only undecodable inputs on the plaintext member */
  membership: boolean;
}

function methods(): Method[] {
  const m = (path: string, root: ReturnType<typeof loadProtos>, type: string, values: object[], writes = false, membership = false): Method => ({
    path,
    type,
    root,
    seeds: values.map((v) => enc(root, type, v)),
    writes,
    membership,
  });
  return [
    m('/etcdserverpb.KV/Range', etcd, 'etcdserverpb.RangeRequest', [{ key: b('k'), rangeEnd: b('l'), limit: 10, sortOrder: 1, sortTarget: 2, countOnly: false }, { key: b('\0'), rangeEnd: b('\0'), serializable: true, revision: 1 }]),
    m('/etcdserverpb.KV/Put', etcd, 'etcdserverpb.PutRequest', [{ key: b('fuzz/a'), value: b('v'), prevKv: true }, { key: b('fuzz/b'), value: Buffer.alloc(300, 7), lease: 0, ignoreValue: false }], true),
    m('/etcdserverpb.KV/DeleteRange', etcd, 'etcdserverpb.DeleteRangeRequest', [{ key: b('fuzz/'), rangeEnd: b('fuzz0'), prevKv: true }], true),
    m(
      '/etcdserverpb.KV/Txn',
      etcd,
      'etcdserverpb.TxnRequest',
      [
        {
          compare: [{ key: b('fuzz/a'), target: 0, result: 0, version: 1 }],
          success: [{ requestPut: { key: b('fuzz/t'), value: b('x') } }, { requestTxn: { success: [{ requestDeleteRange: { key: b('fuzz/t') } }] } }],
          failure: [{ requestRange: { key: b('fuzz/'), rangeEnd: b('fuzz0') } }],
        },
      ],
      true,
    ),
    m('/etcdserverpb.KV/Compact', etcd, 'etcdserverpb.CompactionRequest', [{ revision: 2, physical: true }], true),
    m('/etcdserverpb.Maintenance/Status', etcd, 'etcdserverpb.StatusRequest', [{}]),
    m('/etcdserverpb.Maintenance/HashKV', etcd, 'etcdserverpb.HashKVRequest', [{ revision: 1 }]),
    m('/etcdserverpb.Maintenance/Alarm', etcd, 'etcdserverpb.AlarmRequest', [{ action: 0, memberID: 1, alarm: 0 }]),
    m('/etcdserverpb.Cluster/MemberList', etcd, 'etcdserverpb.MemberListRequest', [{ linearizable: true }]),
    m('/etcdserverpb.Cluster/MemberAdd', etcd, 'etcdserverpb.MemberAddRequest', [{ peerURLs: ['http://127.0.0.1:1'], isLearner: true }], true, true),
    m('/etcdserverpb.Cluster/MemberRemove', etcd, 'etcdserverpb.MemberRemoveRequest', [{ ID: 12345 }], true, true),
    m('/etcdserverpb.Cluster/MemberPromote', etcd, 'etcdserverpb.MemberPromoteRequest', [{ ID: 12345 }], true, true),
    m('/replicant.admin.v1.Admin/Status', admin, 'replicant.admin.v1.StatusRequest', [{}]),
    m('/replicant.admin.v1.Admin/ChangeMembership', admin, 'replicant.admin.v1.ChangeMembershipRequest', [{ requestId: 'r', add: [{ name: 'x', peerUrls: ['http://127.0.0.1:1'] }], remove: [5], promote: [6], catchUpTimeoutMs: 100 }], true, true),
    m('/replicant.admin.v1.Admin/TransferLeadership', admin, 'replicant.admin.v1.TransferLeadershipRequest', [{ target: 7 }], true, true),
    m('/replicant.admin.v1.Admin/InjectFault', admin, 'replicant.admin.v1.InjectFaultRequest', [{ kind: 'corrupt-value', key: b('fuzz/a') }], true, true),
  ];
}

function decodes(m: Method, input: Buffer): boolean {
  try {
    m.root.lookupType(m.type).decode(input);
    return true;
  } catch {
    return false;
  }
}

/** BATCH inputs between full state comparisons and liveness checks. */
const BATCH = 60;

export function clientGrpcTarget(t: Target): FuzzTarget {
  return {
    name: 'client-grpc',
    async run(seed, budgetMs) {
      const name = 'client-grpc';
      const started = performance.now();
      const rng = new Rng(seed);
      const tally = new Tally();
      const ms = methods();
      const donors = ms.flatMap((m) => m.seeds);
      const client = new grpc.Client(t.member.endpoint, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1 });
      try {
        // A little data so reads, deletes and compactions have something to work on.
        const c = t.cluster.client(t.member);
        for (let i = 0; i < 5; i++) await c.put(`fuzz/${i}`, `v${i}`);
        let baseline = await t.probe.state();
        const deadline = performance.now() + budgetMs;
        for (let i = 0; i === 0 || performance.now() < deadline; i++) {
          const m = rng.pick(ms);
          const path = rng.chance(0.03) ? `/etcdserverpb.KV/${rng.bytes(3).toString('hex')}` : m.path;
          const input = rng.chance(0.1) ? rng.bytes(rng.int(80)) : mutate(rng.pick(m.seeds), rng, donors);
          if (m.membership && decodes(m, input)) {
            tally.add('skipped-decodable-membership-change');
            continue;
          }
          const r = await unary(client, path, input, 8000);
          if (r.code === grpc.status.DEADLINE_EXCEEDED) throw new FuzzFailure(name, seed, i, input, `${path} did not answer within 8 s`);
          tally.add(grpc.status[r.code]);
          if (m.writes && path === m.path) {
            const now = await t.probe.state();
            if (r.code !== grpc.status.OK && now !== baseline) throw new FuzzFailure(name, seed, i, input, `refused ${path} (${r.details}) changed the state: ${baseline} → ${now}`);
            baseline = now;
          }
          if (i % BATCH === BATCH - 1) {
            const now = await t.probe.state();
            if (now !== baseline) throw new FuzzFailure(name, seed, i, input, `reads changed the state: ${baseline} → ${now}`);
            await t.probe.serving();
            baseline = await t.probe.state();
          }
        }
        await t.probe.serving();
      } finally {
        client.close();
      }
      return tally.report(name, started);
    },
  };
}

/** readOnlyTraffic drives real clients through `address` with calls that change nothing. */
async function readOnlyTraffic(address: string, creds?: { credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions }): Promise<void> {
  const c = new EtcdClient(address, 10_000, creds?.credentials, creds?.options);
  try {
    await c.get('fuzz/0');
    await c.range('fuzz/', 'fuzz0', { limit: 3 });
    await c.hashKV();
    await c.memberList();
  } finally {
    c.close();
  }
  const a = adminClient(address, creds?.credentials, creds?.options);
  await new Promise((r) => a.Status({}, { deadline: Date.now() + 10_000 }, r));
  a.close();
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

async function rawTarget(name: string, t: Target, seed: number, budgetMs: number, seeds: Buffer[], port: number): Promise<ReturnType<Tally['report']>> {
  const started = performance.now();
  const deadline = started + budgetMs;
  const rng = new Rng(seed);
  const tally = new Tally();
  let baseline = await t.probe.state();
  for (let batch = 0; batch === 0 || performance.now() < deadline; batch++) {
    const inputs = Array.from({ length: 16 }, () => {
      const roll = rng.int(10);
      if (roll === 0) return rng.bytes(rng.int(200));
      if (roll === 1) return Buffer.concat([PREFACE, rng.bytes(rng.int(200))]);
      return mutate(rng.pick(seeds), rng, seeds, 8);
    });
    const outcomes = await inParallel(inputs, 8, (input) => exchange(t.member.ip, port, input));
    for (const o of outcomes) tally.add(o);
    if (!t.probe.alive()) throw new FuzzFailure(name, seed, batch, inputs[0], 'the replica exited');
    if (batch % 4 === 3) {
      baseline = await t.probe.recheck(baseline, (now) => new FuzzFailure(name, seed, batch, inputs[0], `raw bytes changed the state: ${baseline} → ${now}`));
    }
  }
  await t.probe.serving();
  return tally.report(name, started);
}

export function clientH2Target(t: Target): FuzzTarget {
  return {
    name: 'client-h2',
    async run(seed, budgetMs) {
      const seeds = await capture(t.member.ip, 2379, (address) => readOnlyTraffic(address));
      if (seeds.length === 0) throw new Error('client-h2: captured no client traffic');
      return rawTarget('client-h2', t, seed, budgetMs, seeds, 2379);
    },
  };
}

export function clientTlsTarget(t: Target): FuzzTarget {
  return {
    name: 'client-tls',
    async run(seed, budgetMs) {
      const name = 'client-tls';
      const started = performance.now();
      const rng = new Rng(seed);
      const tally = new Tally();
      const tlsc = t.cluster.tls!;
      const app = tlsc.issue('client', 'app');
      // Raw: mutated TLS handshakes (and what follows) of a real client.
      const handshakes = await capture(t.member.ip, 2379, (address) => {
        const [host, port] = address.split(':');
        return new Promise<void>((resolve) => {
          const s = tls.connect({ host, port: Number(port), ca: tlsc.ca.certificatePem, cert: app.certificatePem, key: app.privateKeyPem, ALPNProtocols: ['h2'], checkServerIdentity: () => undefined }, () => {
            s.write(PREFACE);
            setTimeout(() => {
              s.destroy();
              resolve();
            }, 100);
          });
          s.on('error', () => resolve());
        });
      });
      const raw = await rawTarget('client-tls-raw', t, seed, budgetMs / 3, handshakes, 2379);
      const deadline = performance.now() + (2 * budgetMs) / 3;
      for (const [k, v] of Object.entries(raw.outcomes)) tally.outcomes[`raw-${k}`] = v;
      tally.inputs += raw.inputs;
      // Admin and membership calls with mutated payloads, as an application or anonymously: always refused.
      const ms = methods().filter((m) => m.membership || m.path.startsWith('/replicant.admin.v1.Admin/'));
      const donors = ms.flatMap((m) => m.seeds);
      const clients = {
        app: (() => {
          const d = tlsc.dial(t.member.ip, app);
          return new grpc.Client(t.member.endpoint, d.credentials, d.options);
        })(),
        anonymous: (() => {
          const d = tlsc.dial(t.member.ip, 'anonymous');
          return new grpc.Client(t.member.endpoint, d.credentials, d.options);
        })(),
      };
      try {
        const baseline = await t.probe.state();
        for (let i = 0; i === 0 || performance.now() < deadline; i++) {
          const m = rng.pick(ms);
          const who = rng.chance(0.5) ? 'app' : 'anonymous';
          const input = rng.chance(0.1) ? rng.bytes(rng.int(80)) : mutate(rng.pick(m.seeds), rng, donors);
          const r = await unary(clients[who], m.path, input, 8000);
          const expected = who === 'app' ? grpc.status.PERMISSION_DENIED : grpc.status.UNAUTHENTICATED;
          if (r.code !== expected) throw new FuzzFailure(name, seed, i, input, `${m.path} as ${who} answered ${grpc.status[r.code]} (${r.details}), expected ${grpc.status[expected]}`);
          tally.add(`${who}-${grpc.status[r.code]}`);
          if (i % BATCH === BATCH - 1) {
            const now = await t.probe.state();
            if (now !== baseline) throw new FuzzFailure(name, seed, i, input, `refused admin calls changed the state: ${baseline} → ${now}`);
          }
        }
        const now = await t.probe.state();
        if (now !== baseline) throw new FuzzFailure(name, seed, -1, '', `refused admin calls changed the state: ${baseline} → ${now}`);
        await t.probe.serving();
      } finally {
        clients.app.close();
        clients.anonymous.close();
      }
      return tally.report(name, started);
    },
  };
}

export function clientPortTargets(env: FuzzEnv): FuzzTarget[] {
  return [clientGrpcTarget(env.plain), clientH2Target(env.plain), clientTlsTarget(env.tls)];
}
