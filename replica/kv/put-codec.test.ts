// The put path's hand-written codecs against protobufjs, the codec they stand
// in for: the same bytes for every put they encode, the same fields for every
// input they decode, and undefined (protobufjs then) for everything else —
// random requests, random bytes and mutated encodings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { loadProtos } from '../../proto/grpc.ts';
import { decodePutCommand, decodePutRequest, encodePutCommand, encodePutResponse } from './put-codec.ts';
import { decodeCommand, encodeCommand } from './codec.ts';
import type { PutRequest, PutResponse } from './types.ts';

const root = loadProtos('etcd/raft_internal.proto', 'etcd/rpc.proto');
const Envelope = root.lookupType('etcdserverpb.InternalRaftRequest');
const PutRequestType = root.lookupType('etcdserverpb.PutRequest');
const PutResponseType = root.lookupType('etcdserverpb.PutResponse');

type Fields = Record<string, unknown>;

/** fields lists a decoded message's present fields (bytes as arrays, for deepEqual). */
function fields(m: object): Fields {
  const out: Fields = {};
  for (const [k, v] of Object.entries(m)) out[k] = v instanceof Uint8Array ? [...v] : v;
  return out;
}


const bytes = fc.uint8Array({ maxLength: 300 });
const count = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 300 }), fc.maxSafeNat());
const putRequest: fc.Arbitrary<PutRequest> = fc.record(
  { key: bytes, value: bytes, lease: count, prevKv: fc.boolean(), ignoreValue: fc.boolean(), ignoreLease: fc.boolean() },
  { requiredKeys: [] },
) as fc.Arbitrary<PutRequest>;

test('a put command encodes to protobufjs bytes and decodes to its fields', () => {
  fc.assert(
    fc.property(putRequest, fc.maxSafeNat(), (request, requestId) => {
      const fast = encodePutCommand(requestId, request);
      assert.ok(fast, 'a plain put request is handled');
      const slow = Envelope.encode({ header: { ID: requestId }, put: request }).finish();
      assert.deepEqual([...fast], [...slow]);
      const decoded = decodePutCommand(fast);
      const reference = Envelope.decode(slow) as unknown as { header?: { ID?: number }; put: object };
      assert.ok(decoded);
      assert.equal(decoded.requestId, reference.header?.ID ?? 0);
      assert.deepEqual(fields(decoded.request), fields(reference.put));
      // a client's request as protobufjs writes it is decoded here, never left to protobufjs
      const requestBytes = Buffer.from(PutRequestType.encode(request).finish());
      assert.deepEqual(fields(decodePutRequest(requestBytes) ?? { unhandled: true }), fields(PutRequestType.decode(requestBytes)));
      // the command codec takes the fast path both ways and round-trips
      assert.deepEqual([...encodeCommand(decoded)], [...slow]);
    }),
    { numRuns: 500 },
  );
});

test('a PutRequest decodes to the fields protobufjs sets, or is left to protobufjs', () => {
  const encoded = putRequest.map((r) => PutRequestType.encode(r).finish());
  // random bytes, valid encodings, and valid encodings with a byte changed, cut short or extended
  const mutated = fc.tuple(encoded, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'cut', 'append')).map(([b, at, v, how]) => {
    const out = Uint8Array.from(b);
    if (how === 'cut') return out.subarray(0, b.length === 0 ? 0 : at % b.length);
    if (how === 'append') return Uint8Array.from([...b, v, at & 0xff]);
    if (out.length > 0) out[at % out.length] = v;
    return out;
  });
  fc.assert(
    fc.property(fc.oneof(bytes, encoded, mutated), (input) => {
      const buf = Buffer.from(input);
      const fast = decodePutRequest(buf);
      let reference: object | undefined;
      try {
        reference = PutRequestType.decode(buf);
      } catch {
        reference = undefined;
      }
      if (fast === undefined) return;
      assert.ok(reference, 'protobufjs decodes what the fast path decodes');
      assert.deepEqual(fields(fast), fields(reference));
    }),
    { numRuns: 2000 },
  );
});

test('a command envelope decodes like protobufjs, or is left to it', () => {
  const envelopes = fc.tuple(putRequest, fc.maxSafeNat()).map(([r, id]) => Envelope.encode({ header: { ID: id }, put: r }).finish());
  const mutated = fc.tuple(envelopes, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([b, at, v]) => {
    const out = Uint8Array.from(b);
    out[at % out.length] = v;
    return out;
  });
  fc.assert(
    fc.property(fc.oneof(bytes, envelopes, mutated), (input) => {
      const fast = decodePutCommand(input);
      if (fast === undefined) return;
      const reference = Envelope.decode(input) as unknown as { header?: { ID?: number }; put?: object } & object;
      assert.ok(reference.put);
      assert.deepEqual(Object.keys(reference).filter((k) => k !== 'header' && k !== 'put'), []);
      assert.equal(fast.requestId, reference.header?.ID ?? 0);
      assert.deepEqual(fields(fast.request), fields(reference.put));
    }),
    { numRuns: 2000 },
  );
});

test('what the fast path does not handle goes through protobufjs, with the same result as before', () => {
  const odd: PutRequest[] = [
    { key: Buffer.from('k'), lease: -5 },
    { key: Buffer.from('k'), lease: 2 ** 60 },
    { key: Buffer.from('k'), prevKv: 1 as unknown as boolean },
    { key: [1, 2, 3] as unknown as Uint8Array },
  ];
  for (const request of odd) {
    assert.equal(encodePutCommand(9, request), undefined);
    const bytes = encodeCommand({ kind: 'put', requestId: 9, request });
    assert.deepEqual([...bytes], [...Envelope.encode({ header: { ID: 9 }, put: request }).finish()]);
    const back = decodeCommand(bytes);
    assert.equal(back.kind, 'put');
    assert.deepEqual(fields(back.request), fields((Envelope.decode(bytes) as unknown as { put: object }).put));
  }
  // an unknown field in a client's request is left to protobufjs, which drops it (Reader.discardUnknown)
  const withUnknown = Buffer.from([...PutRequestType.encode({ key: Buffer.from('k') }).finish(), 0x38, 0x01]);
  assert.equal(decodePutRequest(withUnknown), undefined);
  const dropped = PutRequestType.decode(withUnknown) as unknown as PutRequest;
  assert.deepEqual(fields(dropped), { key: [0x6b] });
  assert.deepEqual([...encodeCommand({ kind: 'put', requestId: 1, request: dropped })], [...encodePutCommand(1, { key: Buffer.from('k') })!]);
});

test('a PutResponse without a previous value encodes to protobufjs bytes; one with it is left to protobufjs', () => {
  const header = fc.record({ clusterId: count, memberId: count, revision: count, raftTerm: count }, { requiredKeys: [] });
  fc.assert(
    fc.property(fc.option(header, { nil: undefined }), (h) => {
      const response = (h === undefined ? {} : { header: h }) as PutResponse;
      const fast = encodePutResponse(response);
      assert.ok(fast);
      assert.deepEqual([...fast], [...PutResponseType.encode(response).finish()]);
    }),
    { numRuns: 500 },
  );
  const withPrev = { header: { revision: 3 }, prevKv: { key: Buffer.from('k'), value: Buffer.from('v') } } as unknown as PutResponse;
  assert.equal(encodePutResponse(withPrev), undefined);
  assert.equal(encodePutResponse({ header: { revision: -1 } }), undefined);
});
