// Process level: the real etcdctl (ETCDCTL_API=3) against the client API over
// a SingleNodeBackend. Fails with install instructions if etcdctl is absent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEtcdApiServerFor } from './single-node-backend.ts';
import { Etcdctl, Processes } from './testing-etcd.ts';

const serve = startEtcdApiServerFor;

/** errorLine is etcdctl's final "Error: ..." line (it logs a retry warning before it). */
function errorLine(stderr: string): string {
  return stderr.trim().split('\n').filter((l) => l.startsWith('Error:')).pop() ?? stderr;
}

test('etcdctl put, get (--prefix, --consistency=s, -w json), del, txn', async (t) => {
  const server = await serve(t);
  const ctl = new Etcdctl(new Processes(t), [server.endpoint]);

  assert.equal((await ctl.run(['put', 'foo', 'bar'])).stdout, 'OK\n');
  assert.equal((await ctl.run(['put', 'fox', 'baz'])).stdout, 'OK\n');
  assert.equal((await ctl.run(['get', 'foo'])).stdout, 'foo\nbar\n');
  assert.equal((await ctl.run(['get', 'fo', '--prefix'])).stdout, 'foo\nbar\nfox\nbaz\n');
  assert.equal((await ctl.run(['get', 'fo', '--prefix', '--keys-only'])).stdout, 'foo\n\nfox\n\n');
  assert.equal((await ctl.run(['get', 'fo', '--prefix', '--print-value-only', '--order=DESCEND'])).stdout, 'baz\nbar\n');

  server.backend.reads.length = 0;
  assert.equal((await ctl.run(['get', 'foo', '--consistency=s'])).stdout, 'foo\nbar\n');
  assert.deepEqual(server.backend.reads, [true]);
  await ctl.run(['get', 'foo']);
  assert.deepEqual(server.backend.reads, [true, false]);

  const json = JSON.parse((await ctl.run(['get', 'fo', '--prefix', '--limit=1', '-w', 'json'])).stdout);
  assert.equal(json.header.revision, 3);
  assert.equal(json.header.member_id, server.backend.memberId);
  assert.equal(json.header.cluster_id, server.backend.clusterId);
  assert.equal(json.header.raft_term, 2);
  assert.deepEqual(json.kvs, [{ key: Buffer.from('foo').toString('base64'), create_revision: 2, mod_revision: 2, version: 1, value: Buffer.from('bar').toString('base64') }]);
  assert.equal(json.more, true);
  assert.equal(json.count, 2);

  const txn = await ctl.run(['txn'], 'value("foo") = "bar"\n\nput foo changed\nget fox\n\nput foo never\n\n');
  assert.equal(txn.stdout, 'SUCCESS\n\nOK\n\nfox\nbaz\n');
  const failed = await ctl.run(['txn', '-w', 'json'], 'version("foo") = "1"\n\nput foo never\n\nget foo\n\n');
  const failedJson = JSON.parse(failed.stdout);
  assert.equal(failedJson.succeeded, undefined); // false is omitted, as etcd prints it
  assert.equal(Buffer.from(failedJson.responses[0].Response.ResponseRange.kvs[0].value, 'base64').toString(), 'changed');
  const duplicate = await ctl.run(['txn'], '\nput a 1\nput a 2\n\n\n');
  assert.notEqual(duplicate.code, 0);
  assert.equal(errorLine(duplicate.stderr), 'Error: etcdserver: duplicate key given in txn request');

  assert.equal((await ctl.run(['del', 'fo', '--prefix'])).stdout, '2\n');
  assert.equal((await ctl.run(['del', 'nothing'])).stdout, '0\n');
  assert.equal((await ctl.run(['get', 'fo', '--prefix'])).stdout, '');

  assert.equal((await ctl.run(['compact', '3'])).stdout, 'compacted revision 3\n');
  const compacted = await ctl.run(['get', 'foo', '--rev=2']);
  assert.equal(errorLine(compacted.stderr), 'Error: etcdserver: mvcc: required revision has been compacted');
  const future = await ctl.run(['get', 'foo', '--rev=100']);
  assert.equal(errorLine(future.stderr), 'Error: etcdserver: mvcc: required revision is a future revision');
});

test('etcdctl member list/add/promote/remove, endpoint status, health and hashkv', async (t) => {
  const server = await serve(t, { name: 'alpha', peerURL: 'http://127.0.0.1:2380' });
  const ctl = new Etcdctl(new Processes(t), [server.endpoint]);
  const id = server.backend.memberId.toString(16);

  assert.equal((await ctl.run(['member', 'list'])).stdout, `${id}, started, alpha, http://127.0.0.1:2380, http://${server.endpoint}, false\n`);

  const added = await ctl.run(['member', 'add', 'beta', '--peer-urls=http://127.0.0.1:2390', '--learner']);
  const newId = /^Member\s+([0-9a-f]+) added to cluster\s+([0-9a-f]+)/.exec(added.stdout);
  assert.ok(newId, added.stdout + added.stderr);
  assert.equal(newId[2], server.backend.clusterId.toString(16));
  assert.match(added.stdout, /ETCD_INITIAL_CLUSTER="alpha=http:\/\/127\.0\.0\.1:2380,beta=http:\/\/127\.0\.0\.1:2390"/);
  const list = (await ctl.run(['member', 'list'])).stdout.trim().split('\n').sort();
  assert.deepEqual(list, [
    `${id}, started, alpha, http://127.0.0.1:2380, http://${server.endpoint}, false`,
    `${newId[1]}, unstarted, , http://127.0.0.1:2390, , true`,
  ].sort());
  assert.match((await ctl.run(['member', 'promote', newId[1]])).stdout, new RegExp(`^Member\\s+${newId[1]} promoted in cluster\\s+${newId[2]}`));
  assert.match((await ctl.run(['member', 'remove', newId[1]])).stdout, new RegExp(`^Member\\s+${newId[1]} removed from cluster\\s+${newId[2]}`));
  assert.equal(errorLine((await ctl.run(['member', 'remove', '1234'])).stderr), 'Error: etcdserver: member not found');
  assert.equal(errorLine((await ctl.run(['member', 'promote', id])).stderr), 'Error: etcdserver: can only promote a learner member');
  assert.match(errorLine((await ctl.run(['member', 'add', 'x', '--peer-urls=http://127.0.0.1:2380'])).stderr), /Peer URLs already exists/);

  await ctl.run(['put', 'k', 'v']);
  const status = (await ctl.run(['endpoint', 'status'])).stdout;
  // endpoint, id, version, db size, is leader, is learner, raft term, raft index, applied index, errors
  assert.match(status, new RegExp(`^${server.endpoint}, ${id}, 3\\.4\\.0-replicant, \\d+ B, true, false, 2, \\d+, \\d+, \\n$`));
  const statusJson = JSON.parse((await ctl.run(['endpoint', 'status', '-w', 'json'])).stdout)[0];
  assert.equal(statusJson.Endpoint, server.endpoint);
  assert.equal(statusJson.Status.header.revision, 2);
  assert.equal(statusJson.Status.raftAppliedIndex, server.backend.store.appliedIndex);
  // etcdctl 3.4 prints health to stderr.
  assert.match((await ctl.run(['endpoint', 'health'])).stderr, new RegExp(`^${server.endpoint} is healthy: successfully committed proposal`));

  const hash = (await ctl.run(['endpoint', 'hashkv'])).stdout;
  assert.equal(hash, `${server.endpoint}, ${server.backend.store.hashKV(0).hash}\n`);
});

test('etcdctl endpoint hashkv matches across members holding the same data, and differs after divergence', async (t) => {
  const one = await serve(t);
  const two = await serve(t, { memberId: 0xbeef });
  const procs = new Processes(t);
  const both = new Etcdctl(procs, [one.endpoint, two.endpoint]);
  for (const ctl of [new Etcdctl(procs, [one.endpoint]), new Etcdctl(procs, [two.endpoint])]) {
    await ctl.run(['put', 'a', '1']);
    await ctl.run(['put', 'b', '2']);
    await ctl.run(['del', 'a']);
    await ctl.run(['txn'], '\nput c 3\nput d 4\n\n\n');
  }
  const hashes = async () => JSON.parse((await both.run(['endpoint', 'hashkv', '-w', 'json'])).stdout)
    .map((e: { HashKV: { hash: number; compact_revision: number } }) => [e.HashKV.hash, e.HashKV.compact_revision]);
  const [h1, h2] = await hashes();
  assert.deepEqual(h1, h2);
  assert.equal(h1[1], -1);
  one.backend.store.corruptValue(Buffer.from('b'));
  const [c1, c2] = await hashes();
  assert.notEqual(c1[0], c2[0]);
  assert.equal(c2[0], h2[0]);
});

test('etcdctl put of an oversized value is refused with etcd\'s message and the server keeps serving', async (t) => {
  const server = await serve(t);
  const ctl = new Etcdctl(new Processes(t), [server.endpoint]);
  const big = await ctl.run(['put', 'big'], Buffer.alloc(1_700_000, 'a'));
  assert.notEqual(big.code, 0);
  assert.equal(errorLine(big.stderr), 'Error: etcdserver: request is too large');
  assert.equal((await ctl.run(['put', 'small', 'ok'])).stdout, 'OK\n');
  assert.equal((await ctl.run(['get', 'big'])).stdout, '');
  const empty = await ctl.run(['put', '', 'x']);
  assert.equal(errorLine(empty.stderr), 'Error: etcdserver: key is not provided');
});
