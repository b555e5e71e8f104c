// KvStore semantics against etcd's: revisions, versions, ranges, txns,
// compaction, errors, checkpoints, snapshots and the digest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KvStore } from './store.ts';
import { KvError } from './errors.ts';
import { encodeCommand } from './codec.ts';
import { CompareResult, CompareTarget, SortOrder, SortTarget } from './types.ts';
import { Driver, b, cmp, del, get, kvText, ok, put, s, txnOp } from './testing.ts';

test('an empty store is at revision 1 and never compacted, like etcd', () => {
  const store = new KvStore();
  assert.equal(store.revision, 1);
  assert.equal(store.compactRevision, -1);
  const r = store.range({ key: b('a') });
  assert.deepEqual(r, { header: { revision: 1 }, kvs: [], more: false, count: 0 });
});

test('put bumps the revision; create/mod revision and version follow etcd', () => {
  const d = new Driver();
  assert.equal(ok(d.put('foo', 'bar'), 'put').header.revision, 2);
  const second = ok(d.put('foo', 'baz', { prevKv: true }), 'put');
  assert.equal(second.header.revision, 3);
  assert.equal(kvText(second.prevKv!), 'foo=bar@2/2/v1');
  assert.deepEqual(d.keys(), ['foo=baz@2/3/v2']);
  // Delete resets version; a new put starts a new generation.
  const gone = ok(d.del('foo', undefined, { prevKv: true }), 'deleteRange');
  assert.equal(gone.deleted, 1);
  assert.equal(gone.header.revision, 4);
  assert.deepEqual(gone.prevKvs.map(kvText), ['foo=baz@2/3/v2']);
  assert.deepEqual(d.keys(), []);
  ok(d.put('foo', 'again'), 'put');
  assert.deepEqual(d.keys(), ['foo=again@5/5/v1']);
  // Deleting nothing creates no revision.
  const none = ok(d.del('nothing'), 'deleteRange');
  assert.equal(none.deleted, 0);
  assert.equal(none.header.revision, 5);
  assert.equal(d.store.revision, 5);
});

test('ranges: single key, prefix, from-key, all keys, byte order', () => {
  const d = new Driver();
  for (const k of ['a', 'ab', 'abc', 'b', 'a\u00ff', 'a\u0000', '\u00ff\u00ff']) d.put(k, k.toUpperCase());
  const names = (key: string, end?: string) => d.store.range({ key: b(key), ...(end !== undefined ? { rangeEnd: b(end) } : {}) }).kvs.map((kv) => s(kv.key));
  assert.deepEqual(names('ab'), ['ab']);
  assert.deepEqual(names('a', 'b'), ['a', 'a\u0000', 'ab', 'abc', 'a\u00ff']);
  assert.deepEqual(names('ab', '\u0000'), ['ab', 'abc', 'a\u00ff', 'b', '\u00ff\u00ff']);
  assert.deepEqual(names('\u0000', '\u0000'), ['a', 'a\u0000', 'ab', 'abc', 'a\u00ff', 'b', '\u00ff\u00ff']);
  assert.deepEqual(names('b', 'a'), []);
});

test('limit, more, count, keys_only and count_only', () => {
  const d = new Driver();
  for (let i = 0; i < 10; i++) d.put(`k${i}`, `v${i}`);
  d.put('z', 'outside');
  const limited = d.store.range({ key: b('k'), rangeEnd: b('l'), limit: 3 });
  assert.deepEqual(limited.kvs.map(kvText), ['k0=v0@2/2/v1', 'k1=v1@3/3/v1', 'k2=v2@4/4/v1']);
  assert.equal(limited.more, true);
  assert.equal(limited.count, 10);
  const exact = d.store.range({ key: b('k'), rangeEnd: b('l'), limit: 10 });
  assert.equal(exact.more, false);
  assert.equal(exact.kvs.length, 10);
  const keysOnly = d.store.range({ key: b('k5'), keysOnly: true });
  assert.equal(s(keysOnly.kvs[0].key), 'k5');
  assert.equal(keysOnly.kvs[0].value.length, 0);
  assert.equal(keysOnly.kvs[0].modRevision, 7);
  const countOnly = d.store.range({ key: b('k'), rangeEnd: b('l'), countOnly: true, limit: 2 });
  assert.deepEqual(countOnly, { header: { revision: 12 }, kvs: [], more: false, count: 10 });
  // Deleted keys do not count.
  d.del('k3');
  assert.equal(d.store.range({ key: b('k'), rangeEnd: b('l'), countOnly: true }).count, 9);
});

test('sort by every target and order, with limit applied after sorting', () => {
  const d = new Driver();
  d.put('c', '1');
  d.put('a', '3');
  d.put('b', '2');
  d.put('a', '0');
  const order = (sortTarget: number, sortOrder: number, limit = 0) =>
    d.store.range({ key: b('a'), rangeEnd: b('d'), sortTarget, sortOrder, limit }).kvs.map((kv) => s(kv.key)).join('');
  assert.equal(order(SortTarget.KEY, SortOrder.NONE), 'abc');
  assert.equal(order(SortTarget.KEY, SortOrder.DESCEND), 'cba');
  assert.equal(order(SortTarget.VALUE, SortOrder.NONE), 'acb'); // non-key target defaults to ascending
  assert.equal(order(SortTarget.VALUE, SortOrder.DESCEND), 'bca');
  assert.equal(order(SortTarget.CREATE, SortOrder.ASCEND), 'cab');
  assert.equal(order(SortTarget.MOD, SortOrder.DESCEND), 'abc');
  // Versions a=2, b=1, c=1: ties keep ascending key order.
  assert.equal(order(SortTarget.VERSION, SortOrder.DESCEND), 'abc');
  assert.equal(order(SortTarget.VERSION, SortOrder.ASCEND), 'bca');
  const top = d.store.range({ key: b('a'), rangeEnd: b('d'), sortTarget: SortTarget.MOD, sortOrder: SortOrder.DESCEND, limit: 1 });
  assert.deepEqual(top.kvs.map((kv) => s(kv.key)), ['a']);
  assert.equal(top.more, true);
  assert.equal(top.count, 3);
});

test('mod and create revision filters prune results but not the count', () => {
  const d = new Driver();
  d.put('a', '1'); // rev 2
  d.put('b', '1'); // rev 3
  d.put('a', '2'); // rev 4
  d.put('c', '1'); // rev 5
  const keys = (extra: object) => d.store.range({ key: b('a'), rangeEnd: b('z'), ...extra });
  assert.deepEqual(keys({ minModRevision: 4 }).kvs.map((kv) => s(kv.key)), ['a', 'c']);
  assert.deepEqual(keys({ maxModRevision: 3 }).kvs.map((kv) => s(kv.key)), ['b']);
  assert.deepEqual(keys({ minCreateRevision: 3 }).kvs.map((kv) => s(kv.key)), ['b', 'c']);
  assert.deepEqual(keys({ maxCreateRevision: 2 }).kvs.map((kv) => s(kv.key)), ['a']);
  assert.equal(keys({ maxCreateRevision: 2 }).count, 3);
});

test('historical reads see each key as it was; header revision stays current', () => {
  const d = new Driver();
  d.put('a', '1'); // 2
  d.put('a', '2'); // 3
  d.del('a'); // 4
  d.put('a', '3'); // 5
  d.put('b', '1'); // 6
  const at = (revision: number) => d.keys('a', 'c', { revision });
  assert.deepEqual(at(1), []);
  assert.deepEqual(at(2), ['a=1@2/2/v1']);
  assert.deepEqual(at(3), ['a=2@2/3/v2']);
  assert.deepEqual(at(4), []);
  assert.deepEqual(at(5), ['a=3@5/5/v1']);
  assert.deepEqual(at(6), ['a=3@5/5/v1', 'b=1@6/6/v1']);
  const past = d.store.range({ key: b('a'), rangeEnd: b('c'), revision: 3 });
  assert.equal(past.header.revision, 6);
  assert.equal(past.count, 1);
  assert.throws(() => d.store.range({ key: b('a'), revision: 7 }), (e: unknown) =>
    e instanceof KvError && e.reason === 'futureRevision' && e.message === 'etcdserver: mvcc: required revision is a future revision');
});

test('compaction drops unreadable history; compacted and future revisions are rejected', () => {
  const d = new Driver();
  d.put('a', '1'); // 2
  d.put('a', '2'); // 3
  d.put('gone', 'x'); // 4
  d.del('gone'); // 5
  d.put('a', '3'); // 6
  const before = d.store.stats();
  assert.equal(ok(d.compact(5), 'compact').header.revision, 6);
  assert.equal(d.store.compactRevision, 5);
  // Reading at the compaction revision works; below it fails.
  assert.deepEqual(d.keys('a', 'z', { revision: 5 }), ['a=2@2/3/v2']);
  assert.throws(() => d.store.range({ key: b('a'), revision: 4 }), /required revision has been compacted/);
  // What remains: a@3 (in force at 5) and a@6; 'gone' left the index entirely.
  const after = d.store.stats();
  assert.equal(after.keys, 1);
  assert.equal(after.revisions, 2);
  assert.ok(after.sizeBytes < before.sizeBytes);
  const again = d.compact(5);
  assert.equal(again.kind, 'error');
  assert.equal(again.kind === 'error' && again.error.reason, 'compacted');
  const future = d.compact(99);
  assert.equal(future.kind === 'error' && future.error.message, 'etcdserver: mvcc: required revision is a future revision');
  // The rejected compactions changed nothing and created no revision.
  assert.equal(d.store.revision, 6);
  assert.deepEqual(d.keys(), ['a=3@2/6/v3']);
});

test('txn: compares on value, version, create and mod revision with every operator', () => {
  const d = new Driver();
  d.put('k', 'm'); // 2
  d.put('k', 'm'); // 3: version 2
  const check = (c: ReturnType<typeof cmp>) => ok(d.txn({ compare: [c] }), 'txn').succeeded;
  const { VALUE, VERSION, CREATE, MOD, LEASE } = CompareTarget;
  const { EQUAL, NOT_EQUAL, GREATER, LESS } = CompareResult;
  assert.equal(check(cmp('k', VALUE, EQUAL, { value: b('m') })), true);
  assert.equal(check(cmp('k', VALUE, GREATER, { value: b('l') })), true);
  assert.equal(check(cmp('k', VALUE, LESS, { value: b('l') })), false);
  assert.equal(check(cmp('k', VALUE, NOT_EQUAL, { value: b('m') })), false);
  assert.equal(check(cmp('k', VERSION, EQUAL, { version: 2 })), true);
  assert.equal(check(cmp('k', CREATE, EQUAL, { createRevision: 2 })), true);
  assert.equal(check(cmp('k', MOD, GREATER, { modRevision: 2 })), true);
  assert.equal(check(cmp('k', MOD, LESS, { modRevision: 3 })), false);
  assert.equal(check(cmp('k', LEASE, EQUAL, { lease: 0 })), true);
  // A missing key: version/create/mod are 0, and a value compare always fails.
  assert.equal(check(cmp('nokey', VERSION, EQUAL, { version: 0 })), true);
  assert.equal(check(cmp('nokey', CREATE, EQUAL, { createRevision: 0 })), true);
  assert.equal(check(cmp('nokey', VALUE, NOT_EQUAL, { value: b('x') })), false);
  // range_end in a compare: every key in the range must satisfy it.
  d.put('k2', 'm'); // 4
  assert.equal(check({ ...cmp('k', VALUE, EQUAL, { value: b('m') }), rangeEnd: b('l') }), true);
  d.put('k3', 'n'); // 5
  assert.equal(check({ ...cmp('k', VALUE, EQUAL, { value: b('m') }), rangeEnd: b('l') }), false);
  // Read-only txns create no revision.
  assert.equal(d.store.revision, 5);
});

test('txn: one revision for all writes, sub-ordered; reads inside see earlier writes', () => {
  const d = new Driver();
  d.put('x', '0'); // 2
  const r = ok(d.txn({
    compare: [cmp('x', CompareTarget.VALUE, CompareResult.EQUAL, { value: b('0') })],
    success: [get('y'), put('y', '1'), get('y'), del('x', undefined, { prevKv: true }), put('z', '2', { prevKv: true })],
    failure: [put('never', '!')],
  }), 'txn');
  assert.equal(r.succeeded, true);
  assert.equal(r.header.revision, 3);
  assert.equal(r.responses[0].responseRange!.header.revision, 2);
  assert.equal(r.responses[0].responseRange!.kvs.length, 0);
  assert.equal(r.responses[1].responsePut!.header.revision, 3);
  assert.deepEqual(r.responses[2].responseRange!.kvs.map(kvText), ['y=1@3/3/v1']);
  assert.equal(r.responses[2].responseRange!.header.revision, 3);
  assert.deepEqual(r.responses[3].responseDeleteRange!.prevKvs.map(kvText), ['x=0@2/2/v1']);
  assert.equal(r.responses[4].responsePut!.prevKv, undefined);
  assert.equal(d.store.revision, 3);
  assert.deepEqual(d.keys(), ['y=1@3/3/v1', 'z=2@3/3/v1']);
  // A read of the revision before the txn does not see its writes.
  assert.deepEqual(d.keys('\u0000', '\u0000', { revision: 2 }), ['x=0@2/2/v1']);
});

test('txn: failure branch, nested txns decided on the state before the txn', () => {
  const d = new Driver();
  d.put('flag', 'off'); // 2
  const r = ok(d.txn({
    compare: [cmp('flag', CompareTarget.VALUE, CompareResult.EQUAL, { value: b('on') })],
    success: [put('a', 'success')],
    failure: [
      put('flag', 'on'),
      txnOp({
        // Sees flag=off (the state before the outer txn), not the put above.
        compare: [cmp('flag', CompareTarget.VALUE, CompareResult.EQUAL, { value: b('off') })],
        success: [put('nested', 'then')],
        failure: [put('nested', 'else')],
      }),
    ],
  }), 'txn');
  assert.equal(r.succeeded, false);
  assert.equal(r.responses[1].responseTxn!.succeeded, true);
  // etcd leaves nested txn headers without a revision.
  assert.equal(r.responses[1].responseTxn!.header.revision, 0);
  assert.deepEqual(d.keys(), ['flag=on@2/3/v2', 'nested=then@3/3/v1']);
});

test('txn: etcd duplicate-key rule', () => {
  const d = new Driver();
  const reason = (txn: Parameters<Driver['txn']>[0]) => {
    const r = d.txn(txn);
    return r.kind === 'error' ? r.error.reason : 'ok';
  };
  assert.equal(reason({ success: [put('a', '1'), put('a', '2')] }), 'duplicateKey');
  assert.equal(reason({ success: [del('a'), put('a', '2')] }), 'duplicateKey');
  assert.equal(reason({ success: [del('a', 'c'), put('b', '2')] }), 'duplicateKey');
  assert.equal(reason({ success: [put('a', '1'), txnOp({ success: [put('a', '2')] })] }), 'duplicateKey');
  assert.equal(reason({ success: [del('a'), txnOp({ failure: [put('a', '2')] })] }), 'duplicateKey');
  // Allowed: then/else of one nested txn may share keys, deletes may overlap, branches are separate.
  assert.equal(reason({ success: [txnOp({ success: [put('a', '1')], failure: [put('a', '2')] })] }), 'ok');
  assert.equal(reason({ success: [del('a', 'c'), del('b')] }), 'ok');
  assert.equal(reason({ success: [put('a', '1')], failure: [put('a', '2')] }), 'ok');
  assert.equal(reason({ success: [put('a', '1'), get('a')] }), 'ok');
  // etcd takes a "\0" range end literally in this check, so from-key deletes do not conflict.
  assert.equal(reason({ success: [del('a', '\u0000'), put('b', '1')] }), 'ok');
  assert.deepEqual(d.keys().map((k) => k.split('@')[0]), ['b=1']);
});

test('rejected requests leave the state and revision untouched', () => {
  const d = new Driver();
  d.put('a', '1'); // 2
  const revision = d.store.revision;
  const digest = d.store.digest();
  const cases: Array<[ReturnType<Driver['put']>, string]> = [
    [d.put('missing', '', { ignoreValue: true }), 'keyNotFound'],
    [d.put('a', 'v', { lease: 42 }), 'leaseNotFound'],
    [d.put('', 'v'), 'emptyKey'],
    [d.put('a', 'v', { ignoreValue: true }), 'valueProvided'],
    [d.txn({ success: [put('b', '1'), get('a', { revision: 99 })] }), 'futureRevision'],
    [d.txn({ success: [put('b', '1'), put('missing', '', { ignoreValue: true })] }), 'keyNotFound'],
    [d.txn({ success: [{}] }), 'invalidArgument'],
    [d.txn({ compare: [{ key: b('a'), target: 9 }] }), 'invalidArgument'],
    [d.del(''), 'emptyKey'],
  ];
  for (const [result, reason] of cases) {
    assert.equal(result.kind, 'error');
    assert.equal(result.kind === 'error' && result.error.reason, reason);
  }
  assert.equal(d.store.revision, revision);
  assert.equal(d.store.digest(), digest);
  assert.equal(d.store.appliedIndex, d.index);
  assert.deepEqual(d.keys(), ['a=1@2/2/v1']);
});

test('ignore_value and ignore_lease keep the current value', () => {
  const d = new Driver();
  d.put('a', 'keep');
  ok(d.put('a', '', { ignoreValue: true }), 'put');
  ok(d.put('a', 'new', { ignoreLease: true }), 'put');
  assert.deepEqual(d.keys(), ['a=new@2/4/v3']);
  ok(d.put('a', '', { ignoreValue: true, ignoreLease: true }), 'put');
  assert.deepEqual(d.keys(), ['a=new@2/5/v4']);
});

test('checkpoints every N applied indices, also across non-KV entries, keeping the last K', () => {
  const d = new Driver({ checkpointInterval: 3, checkpointsKept: 2 });
  d.put('a', '1'); // index 1
  d.put('b', '1'); // 2
  d.store.advanceTo(3); // a raft no-op
  d.index = 3;
  assert.deepEqual(d.store.checkpoints().map((c) => [c.index, c.revision]), [[3, 3]]);
  d.put('c', '1'); // 4
  // Jumping over indices 5..9 records 6 and 9 with the state after index 4.
  d.store.advanceTo(9);
  d.index = 9;
  const cps = d.store.checkpoints();
  assert.deepEqual(cps.map((c) => [c.index, c.revision]), [[6, 4], [9, 4]]);
  assert.equal(cps[0].digest, d.store.digest());
  d.put('d', '1'); // 10
  d.store.advanceTo(10); // same index again is a no-op
  assert.throws(() => d.store.advanceTo(5), /not after the applied index/);
  assert.throws(() => d.store.apply(10, { kind: 'put', requestId: 1, request: { key: b('x') } }), /not after the applied index/);
  // A command applied past a checkpoint index records the state before it.
  d.index = 12;
  d.put('e', '1'); // 13: index 12 checkpointed with the state after 10
  assert.deepEqual(d.store.checkpoints().map((c) => [c.index, c.revision]), [[9, 4], [12, 5]]);
  assert.equal(d.store.lastCheckpoint()!.index, 12);
});

test('equal histories give equal digests, checkpoints and snapshots; the digest tracks the state', () => {
  const run = () => {
    const d = new Driver({ checkpointInterval: 4 });
    for (let i = 0; i < 50; i++) {
      d.put(`k${i % 7}`, `v${i}`);
      if (i % 5 === 0) d.del(`k${(i + 3) % 7}`);
      if (i % 9 === 0) d.txn({ success: [put(`t${i}`, 'x'), del('k1')] });
    }
    d.compact(20);
    return d;
  };
  const one = run();
  const two = run();
  assert.equal(one.store.digest(), two.store.digest());
  assert.deepEqual(one.store.checkpoints(), two.store.checkpoints());
  assert.deepEqual(one.store.snapshot(), two.store.snapshot());
  assert.deepEqual(one.store.hashKV(), two.store.hashKV());
  assert.ok(one.store.verifyDigest());
  // The digest depends only on the live state: put then delete a key is a no-op for it.
  const digest = one.store.digest();
  one.put('temp', 'x');
  assert.notEqual(one.store.digest(), digest);
  one.del('temp');
  assert.equal(one.store.digest(), digest);
  assert.notDeepEqual(one.store.hashKV(), two.store.hashKV()); // HashKV covers history
});

test('corruptValue diverges the digest and reads of one member only', () => {
  const healthy = new Driver({ checkpointInterval: 2 });
  const faulty = new Driver({ checkpointInterval: 2 });
  for (const d of [healthy, faulty]) {
    d.put('a', '1');
    d.put('b', '2');
  }
  assert.equal(healthy.store.lastCheckpoint()!.digest, faulty.store.lastCheckpoint()!.digest);
  assert.equal(faulty.store.corruptValue(b('a')), true);
  assert.equal(faulty.store.corruptValue(b('missing')), false);
  for (const d of [healthy, faulty]) {
    d.put('c', '3');
    d.put('d', '4');
  }
  assert.notEqual(healthy.store.lastCheckpoint()!.digest, faulty.store.lastCheckpoint()!.digest);
  assert.notDeepEqual(faulty.keys('a'), healthy.keys('a'));
  assert.ok(faulty.store.verifyDigest(), 'the running digest reflects the corrupted state');
  assert.notEqual(faulty.store.hashKV().hash, healthy.store.hashKV().hash);
});

test('snapshot/restore round-trips the whole state machine', () => {
  const d = new Driver({ checkpointInterval: 3 });
  for (let i = 0; i < 40; i++) d.put(`key/${i % 13}`, `value-${i}-\u0000\u00ff`);
  d.del('key/1', 'key/3');
  d.compact(30);
  d.put('after', 'compaction');
  d.put('long\u00e9', '\u0000x\u00ff'.repeat(100));
  const bytes = d.store.snapshot();
  const copy = new KvStore({ checkpointInterval: 3 });
  copy.restore(bytes);
  assert.deepEqual(copy.snapshot(), bytes);
  assert.equal(copy.appliedIndex, d.store.appliedIndex);
  assert.equal(copy.revision, d.store.revision);
  assert.equal(copy.compactRevision, 30);
  assert.equal(copy.digest(), d.store.digest());
  assert.deepEqual(copy.checkpoints(), d.store.checkpoints());
  assert.deepEqual(copy.hashKV(), d.store.hashKV());
  assert.deepEqual(copy.range({ key: b('k'), rangeEnd: b('l'), revision: 31 }), d.store.range({ key: b('k'), rangeEnd: b('l'), revision: 31 }));
  assert.deepEqual(copy.range({ key: b('long\u00e9') }).kvs.map(kvText), ['long\u00e9=' + '\u0000x\u00ff'.repeat(100) + '@44/44/v1']);
  // Both continue identically.
  const next = { kind: 'put' as const, requestId: 1, request: { key: b('key/5'), value: b('x'), prevKv: true } };
  assert.deepEqual(copy.apply(d.index + 1, next), d.store.apply(d.index + 1, next));
  assert.deepEqual(copy.snapshot(), d.store.snapshot());
});

test('snapshot with headroom: the same image after the reserved bytes, which restore reads', () => {
  const d = new Driver({ checkpointInterval: 3 });
  for (let i = 0; i < 30; i++) d.put(`key/${i % 7}`, `value-${i}`.repeat(i));
  const plain = d.store.snapshot();
  for (const headroom of [0, 1, 8, 77]) {
    const wide = d.store.snapshot(headroom);
    assert.equal(wide.length, headroom + plain.length);
    assert.deepEqual(wide.subarray(headroom), plain, `headroom ${headroom}`);
    const copy = new KvStore({ checkpointInterval: 3 });
    copy.restore(wide.subarray(headroom));
    assert.deepEqual(copy.snapshot(), plain);
  }
  assert.throws(() => d.store.snapshot(-1), /headroom must be a non-negative integer/);
});

test('restore of a corrupt, truncated or foreign snapshot throws clearly and keeps the state', () => {
  const d = new Driver();
  d.put('a', '1');
  const good = d.store.snapshot();
  const target = new Driver();
  target.put('mine', 'x');
  const before = target.store.snapshot();
  const flipped = Uint8Array.from(good);
  flipped[10] ^= 0x01;
  assert.throws(() => target.store.restore(flipped), /kv snapshot: checksum mismatch/);
  assert.throws(() => target.store.restore(good.subarray(0, good.length - 3)), /kv snapshot: checksum mismatch/);
  assert.throws(() => target.store.restore(new Uint8Array(3)), /too short/);
  assert.throws(() => target.store.restore(b('XXXX\u0001\u0000\u0000\u0000\u0000')), /bad magic/);
  const future = Uint8Array.from(good);
  future[4] = 9;
  assert.throws(() => target.store.restore(future), /format version 9 is not supported/);
  assert.deepEqual(target.store.snapshot(), before);
});

test('applyEntry applies encoded commands and turns undecodable bytes into an error result', () => {
  const store = new KvStore({ checkpointInterval: 2 });
  const r = store.applyEntry(1, encodeCommand({ kind: 'put', requestId: 5, request: { key: b('a'), value: b('1') } }));
  assert.equal(r.kind, 'put');
  assert.equal(r.requestId, 5);
  const bad = store.applyEntry(2, Uint8Array.from([0xff, 0xff, 0xff]));
  assert.equal(bad.kind, 'error');
  assert.match(bad.kind === 'error' ? bad.error.message : '', /kv command: cannot decode/);
  assert.equal(store.appliedIndex, 2);
  assert.equal(store.checkpoints().length, 1);
  assert.equal(store.revision, 2);
});
