// The hand-written etcd encodings agree with the .proto files: what we encode
// decodes with protobufjs to the intended request, and responses encoded by
// protobufjs decode with our readers to the same fields.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadProtos } from '../../proto/grpc.ts';
import {
  decodeCasResponse, decodeRangeResponse, decodeStatusResponse, encodeCasTxn, encodePut, encodeRange, responseHeader,
} from './etcd-wire.ts';

const root = loadProtos('etcd/rpc.proto');
const type = (n: string) => root.lookupType(`etcdserverpb.${n}`);
const enc = (n: string, v: object) => Buffer.from(type(n).encode(type(n).fromObject(v)).finish());
const dec = (n: string, b: Uint8Array): any => type(n).toObject(type(n).decode(b), { defaults: true, oneofs: true });

test('encodePut is a PutRequest with the key and value', () => {
  const value = Buffer.alloc(300, 7); // length needs a two-byte varint
  const r = dec('PutRequest', encodePut(Buffer.from('bench/p/00000042'), value));
  assert.equal(Buffer.from(r.key).toString(), 'bench/p/00000042');
  assert.deepEqual(Buffer.from(r.value), value);
  assert.equal(r.prevKv, false);
});

test('encodeRange is a single-key RangeRequest, serializable when asked', () => {
  const lin = dec('RangeRequest', encodeRange(Buffer.from('k'), false));
  assert.equal(Buffer.from(lin.key).toString(), 'k');
  assert.equal(lin.serializable, false);
  assert.equal(Buffer.from(lin.rangeEnd).length, 0);
  const ser = dec('RangeRequest', encodeRange(Buffer.from('k'), true));
  assert.equal(ser.serializable, true);
});

test('encodeCasTxn compares mod_revision (even 0) and puts on success, reads on failure', () => {
  for (const rev of [0, 1, 300, 2 ** 40]) {
    const t = dec('TxnRequest', encodeCasTxn(Buffer.from('bench/cas/0001'), rev, Buffer.from('v')));
    assert.equal(t.compare.length, 1);
    const c = t.compare[0];
    assert.equal(c.result, 0); // EQUAL
    assert.equal(c.target, 2); // MOD
    assert.equal(Buffer.from(c.key).toString(), 'bench/cas/0001');
    assert.equal(c.targetUnion, 'modRevision', 'the oneof member must be present even for 0');
    assert.equal(Number(c.modRevision), rev);
    assert.equal(t.success.length, 1);
    assert.equal(Buffer.from(t.success[0].requestPut.key).toString(), 'bench/cas/0001');
    assert.equal(Buffer.from(t.success[0].requestPut.value).toString(), 'v');
    assert.equal(t.failure.length, 1);
    assert.equal(Buffer.from(t.failure[0].requestRange.key).toString(), 'bench/cas/0001');
  }
});

test('response readers take header, kvs, txn outcome and status fields', () => {
  const header = { clusterId: 1, memberId: 0x1234_5678_9abc, revision: 77, raftTerm: 3 };
  assert.deepEqual(responseHeader(enc('PutResponse', { header })), { memberId: 0x1234_5678_9abcn, revision: 77, raftTerm: 3 });

  const range = decodeRangeResponse(enc('RangeResponse', { header, kvs: [{ key: Buffer.from('a'), value: Buffer.from('x'), modRevision: 5, version: 2 }], count: 1 }));
  assert.equal(range.kvs.length, 1);
  assert.equal(range.kvs[0].key.toString(), 'a');
  assert.equal(range.kvs[0].value.toString(), 'x');
  assert.equal(range.kvs[0].modRevision, 5);
  assert.equal(range.kvs[0].version, 2);

  assert.deepEqual(decodeCasResponse(enc('TxnResponse', { header, succeeded: true, responses: [{ responsePut: { header } }] })), { succeeded: true, modRevision: 77 });
  assert.deepEqual(
    decodeCasResponse(enc('TxnResponse', { header, succeeded: false, responses: [{ responseRange: { header, kvs: [{ key: Buffer.from('a'), modRevision: 41 }] } }] })),
    { succeeded: false, modRevision: 41 },
  );
  assert.deepEqual(decodeCasResponse(enc('TxnResponse', { header, succeeded: false, responses: [{ responseRange: { header } }] })), { succeeded: false, modRevision: 0 });

  const st = decodeStatusResponse(enc('StatusResponse', { header, version: '3.4.23', leader: 0x1234_5678_9abc, raftIndex: 9, raftTerm: 2 }));
  assert.deepEqual(st, { memberId: 0x1234_5678_9abcn, leader: 0x1234_5678_9abcn, raftIndex: 9, raftTerm: 2, version: '3.4.23' });
});

test('member ids above 2^53 (etcd picks random 64-bit ids) survive exactly', () => {
  // StatusResponse{leader (4) = 0xfedcba9876543210}: varint written by hand
  let n = 0xfedcba9876543210n;
  const bytes = [4 << 3];
  while (n >= 0x80n) {
    bytes.push(Number(n & 0x7fn) | 0x80);
    n >>= 7n;
  }
  bytes.push(Number(n));
  assert.equal(decodeStatusResponse(Buffer.from(bytes)).leader, 0xfedcba9876543210n);
});

test('truncated responses are refused, not misread', () => {
  const full = enc('RangeResponse', { kvs: [{ key: Buffer.from('abc'), value: Buffer.from('xyz') }] });
  assert.throws(() => decodeRangeResponse(full.subarray(0, full.length - 2)), /truncated/);
});
