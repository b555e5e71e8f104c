// The client API over real gRPC: the etcd3 npm client for the happy paths,
// and a raw client built from our .proto files for exact status codes and
// messages, malformed bytes, oversized requests and unimplemented methods.
// Every server is stopped by the test that started it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { clientConstructor } from '../../../proto/grpc.ts';
import { ETCD_PROTO_ROOT, EtcdError, checkPeerURLs } from './index.ts';
import { startEtcdApiServerFor } from './single-node-backend.ts';

type Raw = Record<string, (req: unknown, cb: (err: grpc.ServiceError | null, res: any) => void) => void> & grpc.Client;

function rawClient(t: { after: (fn: () => void) => void }, endpoint: string, service: string): Raw {
  const Client = clientConstructor(ETCD_PROTO_ROOT, `etcdserverpb.${service}`);
  const client = new Client(endpoint, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
  }) as unknown as Raw;
  t.after(() => client.close());
  return client;
}

function call(client: Raw, method: string, req: unknown): Promise<any> {
  return new Promise((resolve, reject) => client[method](req, (err, res) => (err ? reject(err) : resolve(res))));
}

async function rejects(p: Promise<unknown>, code: grpc.status, message: string | RegExp): Promise<void> {
  await assert.rejects(p, (err: grpc.ServiceError) => {
    assert.equal(err.code, code, `code ${err.code} (${err.details})`);
    if (typeof message === 'string') assert.equal(err.details, message);
    else assert.match(err.details, message);
    return true;
  });
}

const serve = startEtcdApiServerFor;

const text = (s: string) => Buffer.from(s);

test('the etcd3 npm client: put, get, prefix, delete, txn, status, members', async (t) => {
  const { endpoint } = await serve(t);
  const client = new Etcd3({ hosts: endpoint });
  t.after(() => client.close());

  await client.put('foo').value('bar');
  await client.put('fox').value('baz');
  await client.put('other').value('x');
  assert.equal(await client.get('foo').string(), 'bar');
  assert.equal(await client.get('missing').string(), null);
  assert.deepEqual(await client.getAll().prefix('fo').strings(), { foo: 'bar', fox: 'baz' });
  assert.equal(await client.getAll().prefix('fo').count(), 2);
  assert.deepEqual(await client.getAll().prefix('fo').limit(1).keys(), ['foo']);

  const previous = await client.put('foo').value('bar2').getPrevious();
  assert.equal(previous.value.toString(), 'bar');
  assert.equal(previous.version, '1');
  await client.put('foo').touch(); // ignore_value
  assert.equal(await client.get('foo').string(), 'bar2');

  const tx = await client.if('foo', 'Value', '==', 'bar2').then(client.put('foo').value('swapped')).else(client.get('foo')).commit();
  assert.equal(tx.succeeded, true);
  const tx2 = await client.if('foo', 'Version', '>', 10).then(client.put('never').value('!')).else(client.get('foo')).commit();
  assert.equal(tx2.succeeded, false);
  assert.equal(tx2.responses[0].response_range.kvs[0].value.toString(), 'swapped');

  const deleted = await client.delete().prefix('fo');
  assert.equal(deleted.deleted, '2');
  assert.deepEqual(await client.getAll().keys(), ['other']);

  const status = await client.maintenance.status();
  assert.equal(status.version, '3.4.0-replicant');
  assert.equal(status.leader, status.header.member_id);
  const members = await client.cluster.memberList({});
  assert.equal(members.members.length, 1);
  assert.equal(members.members[0].clientURLs[0], `http://${endpoint}`);
  const added = await client.cluster.memberAdd({ peerURLs: ['http://127.0.0.1:9999'], isLearner: true });
  assert.equal(added.member.isLearner, true);
  await client.cluster.memberPromote({ ID: added.member.ID });
  const after = await client.cluster.memberRemove({ ID: added.member.ID });
  assert.equal(after.members.length, 1);
});

test('response headers carry cluster id, member id, revision and raft term', async (t) => {
  const { endpoint, backend } = await serve(t, { clusterId: 77, memberId: 99, raftTerm: 5 });
  const kv = rawClient(t, endpoint, 'KV');
  const put = await call(kv, 'Put', { key: text('a'), value: text('1') });
  assert.deepEqual({ ...put.header }, { clusterId: 77, memberId: 99, revision: 2, raftTerm: 5 });
  const range = await call(kv, 'Range', { key: text('a'), serializable: true });
  assert.equal(range.header.revision, 2);
  assert.equal(range.kvs[0].modRevision, 2);
  assert.deepEqual(backend.reads, [true]);
  await call(kv, 'Range', { key: text('a') });
  assert.deepEqual(backend.reads, [true, false]);
  const cluster = rawClient(t, endpoint, 'Cluster');
  const list = await call(cluster, 'MemberList', {});
  // Like etcd, membership answers carry no store revision.
  assert.equal(list.header.revision, 0);
  assert.equal(list.header.memberId, 99);
  const maintenance = rawClient(t, endpoint, 'Maintenance');
  const hash = await call(maintenance, 'HashKV', { revision: 0 });
  assert.equal(hash.header.revision, 2);
  assert.equal(hash.compactRevision, -1);
  assert.equal(hash.hash, backend.store.hashKV(0).hash);
  const alarms = await call(maintenance, 'Alarm', { action: 0 });
  assert.deepEqual(alarms.alarms, []);
});

test('etcd errors: codes and messages clients expect', async (t) => {
  const { endpoint, backend } = await serve(t, { limits: { maxTxnOps: 4 } });
  const kv = rawClient(t, endpoint, 'KV');
  const cluster = rawClient(t, endpoint, 'Cluster');
  const { INVALID_ARGUMENT, OUT_OF_RANGE, NOT_FOUND, FAILED_PRECONDITION, UNAVAILABLE } = grpc.status;

  await rejects(call(kv, 'Put', { key: text(''), value: text('x') }), INVALID_ARGUMENT, 'etcdserver: key is not provided');
  await rejects(call(kv, 'Range', {}), INVALID_ARGUMENT, 'etcdserver: key is not provided');
  await rejects(call(kv, 'Put', { key: text('k'), lease: 5 }), NOT_FOUND, 'etcdserver: requested lease not found');
  await rejects(call(kv, 'Put', { key: text('k'), ignoreValue: true }), INVALID_ARGUMENT, 'etcdserver: key not found');
  await rejects(call(kv, 'Range', { key: text('k'), revision: 99 }), OUT_OF_RANGE, 'etcdserver: mvcc: required revision is a future revision');
  await rejects(call(kv, 'Range', { key: text('k'), sortOrder: 7 }), INVALID_ARGUMENT, /sort_order 7 is not one of NONE\(0\), ASCEND\(1\), DESCEND\(2\)/);
  const ops = Array.from({ length: 5 }, (_, i) => ({ requestPut: { key: text(`k${i}`) } }));
  await rejects(call(kv, 'Txn', { success: ops }), INVALID_ARGUMENT, 'etcdserver: too many operations in txn request');
  await rejects(call(kv, 'Txn', { success: [{ requestPut: { key: text('d') } }, { requestPut: { key: text('d') } }] }),
    INVALID_ARGUMENT, 'etcdserver: duplicate key given in txn request');
  for (let i = 0; i < 3; i++) await call(kv, 'Put', { key: text('c'), value: text(`${i}`) });
  await call(kv, 'Compact', { revision: 3 });
  await rejects(call(kv, 'Range', { key: text('c'), revision: 2 }), OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted');
  await rejects(call(kv, 'Compact', { revision: 3 }), OUT_OF_RANGE, 'etcdserver: mvcc: required revision has been compacted');

  await rejects(call(cluster, 'MemberRemove', { ID: 1234 }), NOT_FOUND, 'etcdserver: member not found');
  await rejects(call(cluster, 'MemberPromote', { ID: backend.memberId }), FAILED_PRECONDITION, 'etcdserver: can only promote a learner member');
  await rejects(call(cluster, 'MemberAdd', { peerURLs: ['ftp://x:1'] }), INVALID_ARGUMENT, 'etcdserver: given member URLs are invalid');
  await rejects(call(cluster, 'MemberAdd', { peerURLs: [] }), INVALID_ARGUMENT, 'etcdserver: given member URLs are invalid');
  await rejects(call(cluster, 'MemberAdd', { peerURLs: ['http://127.0.0.1:2380'] }), FAILED_PRECONDITION, 'etcdserver: Peer URLs already exists');
  await rejects(call(cluster, 'MemberUpdate', { ID: 1 }), grpc.status.UNIMPLEMENTED, /MemberUpdate is not implemented/);

  // A backend without a leader: writes and linearizable reads fail, serializable reads still work.
  backend.unavailable = new EtcdError('noLeader');
  await rejects(call(kv, 'Put', { key: text('k'), value: text('v') }), UNAVAILABLE, 'etcdserver: no leader');
  await rejects(call(kv, 'Range', { key: text('c') }), UNAVAILABLE, 'etcdserver: no leader');
  assert.equal((await call(kv, 'Range', { key: text('c'), serializable: true })).kvs.length, 1);
  backend.unavailable = null;
  await call(kv, 'Put', { key: text('k'), value: text('v') });
});

test('oversized requests get etcd\'s error (or gRPC\'s beyond the headroom) and the server keeps serving', async (t) => {
  const { endpoint } = await serve(t);
  const kv = rawClient(t, endpoint, 'KV');
  // 1.5 MiB exactly: the value fits, the envelope does not.
  await rejects(call(kv, 'Put', { key: text('big'), value: Buffer.alloc(1572864, 1) }), grpc.status.INVALID_ARGUMENT, 'etcdserver: request is too large');
  // Beyond 1.5 MiB + 512 KiB, gRPC itself refuses to read it.
  await rejects(call(kv, 'Put', { key: text('big'), value: Buffer.alloc(2200000, 1) }), grpc.status.RESOURCE_EXHAUSTED, /larger than max/);
  const put = await call(kv, 'Put', { key: text('big'), value: Buffer.alloc(1572864 - 64, 1) });
  assert.equal(put.header.revision, 2);
  const got = await call(kv, 'Range', { key: text('big') });
  assert.equal(got.kvs[0].value.length, 1572864 - 64);
  // The etcd3 client sees the same error.
  const client = new Etcd3({ hosts: endpoint });
  t.after(() => client.close());
  await assert.rejects(client.put('big2').value(Buffer.alloc(1600000, 2)).exec(), /etcdserver: request is too large/);
  assert.equal(await client.get('big2').string(), null);
});

test('malformed request bytes get INVALID_ARGUMENT naming the message; the server keeps serving', async (t) => {
  const { endpoint } = await serve(t);
  const garbage = new grpc.Client(endpoint, grpc.credentials.createInsecure());
  t.after(() => garbage.close());
  const send = (path: string, bytes: Buffer) => new Promise<unknown>((resolve, reject) =>
    garbage.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, bytes, (err, res) => (err ? reject(err) : resolve(res))));
  for (const path of ['/etcdserverpb.KV/Put', '/etcdserverpb.KV/Txn', '/etcdserverpb.Cluster/MemberAdd', '/etcdserverpb.Maintenance/HashKV']) {
    await rejects(send(path, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])), grpc.status.INVALID_ARGUMENT, /^malformed etcdserverpb\.\w+ \(7 bytes\): /);
  }
  // Wrong wire type for a field.
  await rejects(send('/etcdserverpb.KV/Range', Buffer.from([0x0b])), grpc.status.INVALID_ARGUMENT, /malformed etcdserverpb\.RangeRequest/);
  const kv = rawClient(t, endpoint, 'KV');
  assert.equal((await call(kv, 'Put', { key: text('still'), value: text('ok') })).header.revision, 2);
});

test('declared but unserved methods answer UNIMPLEMENTED', async (t) => {
  const { endpoint } = await serve(t);
  const lease = rawClient(t, endpoint, 'Lease');
  await rejects(call(lease, 'LeaseGrant', { TTL: 5 }), grpc.status.UNIMPLEMENTED, /LeaseGrant/);
  const auth = rawClient(t, endpoint, 'Auth');
  await rejects(call(auth, 'AuthStatus', {}), grpc.status.UNIMPLEMENTED, /AuthStatus/);
  const maintenance = rawClient(t, endpoint, 'Maintenance');
  await rejects(call(maintenance, 'Defragment', {}), grpc.status.UNIMPLEMENTED, /Defragment/);
  await rejects(call(maintenance, 'Alarm', { action: 1 }), grpc.status.UNIMPLEMENTED, /raises no alarms/);
});

test('peer URL checks follow etcd', () => {
  assert.doesNotThrow(() => checkPeerURLs(['http://127.0.0.1:2380', 'https://member-1.group:2380']));
  for (const bad of [[], ['foo'], ['http://127.0.0.1'], ['http://127.0.0.1:2380/path'], ['http://127.0.0.1:2380/'], ['ftp://h:1']]) {
    assert.throws(() => checkPeerURLs(bad), /given member URLs are invalid/, JSON.stringify(bad));
  }
});
