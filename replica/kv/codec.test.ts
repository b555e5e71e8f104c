// The command codec round-trips every command kind (ids near 2^53, binary
// keys, nested txns) and rejects bytes that are not a command; the txn-size
// admission limit follows etcd's counting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCommand, encodeCommand } from './codec.ts';
import { KvStore } from './store.ts';
import { checkTxn } from './validate.ts';
import { KvError } from './errors.ts';
import { RequestIdGenerator } from './request-id.ts';
import { CompareResult, CompareTarget } from './types.ts';
import type { KvCommand } from './types.ts';
import { b, del, get, put, txnOp } from './testing.ts';

const commands: KvCommand[] = [
  { kind: 'put', requestId: 2 ** 53 - 1, request: { key: b('\u0000\u00ffkey'), value: b('v'), prevKv: true } },
  { kind: 'deleteRange', requestId: 1, request: { key: b('a'), rangeEnd: b('\u0000'), prevKv: true } },
  {
    kind: 'txn', requestId: 3, request: {
      compare: [{ key: b('k'), target: CompareTarget.MOD, result: CompareResult.LESS, modRevision: 9, rangeEnd: b('l') }],
      success: [put('x', '1'), get('x', { limit: 3, sortOrder: 2, sortTarget: 4 }), txnOp({ success: [del('y')] })],
      failure: [put('z', '')],
    },
  },
  { kind: 'compact', requestId: 4, request: { revision: 12345 } },
];

test('every command kind survives encode/decode and applies identically', () => {
  for (const cmd of commands) {
    const decoded = decodeCommand(encodeCommand(cmd));
    assert.equal(decoded.kind, cmd.kind);
    assert.equal(decoded.requestId, cmd.requestId);
    // Re-encoding the decoded command gives the same bytes.
    assert.deepEqual(encodeCommand(decoded), encodeCommand(cmd));
  }
  const direct = new KvStore();
  const viaCodec = new KvStore();
  direct.apply(1, { kind: 'put', requestId: 0, request: { key: b('k'), value: b('v') } });
  viaCodec.apply(1, { kind: 'put', requestId: 0, request: { key: b('k'), value: b('v') } });
  commands.slice(0, 3).forEach((cmd, i) => {
    assert.deepEqual(
      JSON.stringify(viaCodec.apply(i + 2, decodeCommand(encodeCommand(cmd)))),
      JSON.stringify(direct.apply(i + 2, cmd)),
    );
  });
  assert.deepEqual(viaCodec.snapshot(), direct.snapshot());
});

test('decodeCommand rejects garbage and empty envelopes with a clear error', () => {
  assert.throws(() => decodeCommand(Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])), /kv command: cannot decode/);
  assert.throws(() => decodeCommand(new Uint8Array(0)), /kv command: entry holds none of put, delete_range, txn, compaction/);
});

test('txn size limit counts like etcd: the longest list, and nested txns get what is left', () => {
  const ops = (n: number) => Array.from({ length: n }, (_, i) => put(`k${i}`, 'v'));
  assert.doesNotThrow(() => checkTxn({ success: ops(128) }, 128));
  assert.throws(() => checkTxn({ success: ops(129) }, 128), (e: unknown) =>
    e instanceof KvError && e.message === 'etcdserver: too many operations in txn request');
  assert.throws(() => checkTxn({ compare: Array.from({ length: 5 }, () => ({ key: b('a') })) }, 4), /too many operations/);
  // The outer txn uses 3 of 4; the nested one may have at most 1.
  assert.doesNotThrow(() => checkTxn({ success: [put('a', '1'), put('b', '1'), txnOp({ success: [put('c', '1')] })] }, 4));
  assert.throws(() => checkTxn({ success: [put('a', '1'), put('b', '1'), txnOp({ success: ops(2) })] }, 4), /too many operations/);
});

test('request ids are unique, non-zero, below 2^53 and differ across restarts', () => {
  const a = new RequestIdGenerator(0xabcdef, 1_700_000_000_000);
  const seen = new Set<number>();
  for (let i = 0; i < 10000; i++) {
    const id = a.next();
    assert.ok(id > 0 && Number.isSafeInteger(id));
    seen.add(id);
  }
  assert.equal(seen.size, 10000);
  const restarted = new RequestIdGenerator(0xabcdef, 1_700_000_001_000);
  assert.ok(!seen.has(restarted.next()));
  assert.throws(() => new RequestIdGenerator(-1, 0), /member id/);
});
