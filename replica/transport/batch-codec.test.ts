// The hand-written batch codec round-trips every message type, agrees byte for
// byte in meaning with protobufjs reading proto/raft.proto, and rejects
// malformed input with a clear error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Entry, Message, MessageType, Snapshot } from '../raft/types.ts';
import { message } from '../raft/types.ts';
import { decodeBatch, decodeMessage, encodeBatch, encodeMessage, encodedMessageSize } from './batch-codec.ts';
import { MESSAGE_TYPES } from './message-types.ts';
import { fromWireMessage, raftProtoRoot, toWireMessage } from './wire.ts';

const ALL_TYPES = MESSAGE_TYPES.filter((t): t is MessageType => t !== undefined);

const PLAIN = { noNullPrototype: true } as const;
const num = fc.oneof(fc.constant(0), fc.nat({ max: 300 }), fc.nat(), fc.maxSafeNat(), fc.constant(Number.MAX_SAFE_INTEGER));
const ids = fc.array(num, { maxLength: 5 });
const bytes = fc.uint8Array({ maxLength: 64 });

const entryArb: fc.Arbitrary<Entry> = fc.record({
  term: num,
  index: num,
  type: fc.constantFrom('normal' as const, 'confChange' as const),
  data: bytes,
}, PLAIN);

const snapshotArb: fc.Arbitrary<Snapshot> = fc.record({
  metadata: fc.record({
    index: num,
    term: num,
    confState: fc.record({ voters: ids, learners: ids, votersOutgoing: ids, learnersNext: ids, autoLeave: fc.boolean() }, PLAIN),
  }, PLAIN),
  data: fc.uint8Array({ maxLength: 256 }),
}, PLAIN);

/** messageArb produces any Message the core could build, optional fields present or absent. */
export const messageArb: fc.Arbitrary<Message> = fc
  .record({
    type: fc.constantFrom(...ALL_TYPES),
    to: num,
    from: num,
    term: num,
    logTerm: num,
    index: num,
    entries: fc.array(entryArb, { maxLength: 4 }),
    commit: num,
    reject: fc.boolean(),
    rejectHint: num,
    snapshot: fc.option(snapshotArb, { nil: undefined }),
    context: fc.option(bytes, { nil: undefined }),
    commitOnly: fc.boolean(),
  }, PLAIN)
  .map((m) => {
    const out: Message = { ...m };
    if (m.snapshot === undefined) delete out.snapshot;
    if (m.context === undefined) delete out.context;
    if (!m.commitOnly) delete out.commitOnly;
    return out;
  });

const WireMessage = raftProtoRoot().lookupType('replicant.raft.v1.Message');
const WireBatch = raftProtoRoot().lookupType('replicant.raft.v1.MessageBatch');

test('every message type round-trips through the hand-written codec', () => {
  assert.equal(ALL_TYPES.length, 19);
  for (const type of ALL_TYPES) {
    const m = message({ type, to: 2, from: 1, term: 3, entries: [{ term: 3, index: 9, type: 'normal', data: new Uint8Array([7]) }] });
    assert.deepStrictEqual(decodeMessage(encodeMessage(m)), m, type);
  }
});

test('property: hand-written encode/decode is the identity on random messages', () => {
  fc.assert(
    fc.property(messageArb, (m) => {
      const bytes = encodeMessage(m);
      assert.equal(bytes.length, encodedMessageSize(m));
      assert.deepStrictEqual(decodeMessage(bytes), m);
    }),
    { numRuns: 1000 },
  );
});

test('property: hand-written bytes mean the same to protobufjs, and protobufjs bytes to us', () => {
  fc.assert(
    fc.property(messageArb, (m) => {
      const ours = encodeMessage(m);
      assert.deepStrictEqual(fromWireMessage(WireMessage.decode(ours) as never), m);
      const theirs = WireMessage.encode(toWireMessage(m) as never).finish();
      assert.deepStrictEqual(decodeMessage(theirs), m);
    }),
    { numRuns: 500 },
  );
});

test('property: a batch keeps its messages in order, and protobufjs reads it the same', () => {
  fc.assert(
    fc.property(fc.array(messageArb, { maxLength: 8 }), (ms) => {
      const bytes = encodeBatch(ms);
      assert.deepStrictEqual(decodeBatch(bytes), ms);
      const viaPb = (WireBatch.decode(bytes) as unknown as { messages: never[] }).messages.map(fromWireMessage);
      assert.deepStrictEqual(viaPb, ms);
    }),
    { numRuns: 300 },
  );
});

test('numbers at every varint length boundary round-trip and agree with protobufjs', () => {
  const values: number[] = [];
  for (let bits = 0; bits <= 53; bits++) {
    const p = 2 ** bits;
    values.push(p - 1, p, p + 1);
  }
  for (const v of values.filter((x) => x <= Number.MAX_SAFE_INTEGER)) {
    const m = message({ type: 'app', to: v, index: v, entries: [{ term: v, index: v, type: 'normal', data: new Uint8Array(0) }] });
    const bytes = encodeMessage(m);
    assert.equal(bytes.length, encodedMessageSize(m), String(v));
    assert.deepStrictEqual(decodeMessage(bytes), m, String(v));
    assert.deepStrictEqual(Buffer.from(WireMessage.encode(toWireMessage(m) as never).finish()), bytes, String(v));
  }
});

test('decoded bytes are copies, not views into the frame', () => {
  const m = message({ type: 'app', to: 2, from: 1, entries: [{ term: 1, index: 1, type: 'normal', data: new Uint8Array([1, 2, 3]) }] });
  const frame = encodeBatch([m]);
  const [got] = decodeBatch(frame);
  assert.ok(!Buffer.isBuffer(got.entries[0].data));
  frame.fill(0);
  assert.deepStrictEqual([...got.entries[0].data], [1, 2, 3]);
});

test('unknown fields are skipped (forward compatibility)', () => {
  const m = message({ type: 'heartbeat', to: 2, from: 1, term: 5, commit: 4 });
  // field 15 varint, field 16 length-delimited, field 17 fixed32, field 18 fixed64
  const extra = Buffer.from([0x78, 0x05, 0x82, 0x01, 0x02, 0xaa, 0xbb, 0x8d, 0x01, 1, 2, 3, 4, 0x91, 0x01, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepStrictEqual(decodeMessage(Buffer.concat([encodeMessage(m), extra])), m);
});

test('malformed input is refused with a descriptive error', () => {
  const m = message({ type: 'app', to: 2, from: 1, entries: [{ term: 1, index: 1, type: 'normal', data: new Uint8Array(10) }] });
  const good = encodeBatch([m]);
  assert.throws(() => decodeBatch(good.subarray(0, good.length - 3)), /runs past the end|truncated/);
  assert.throws(() => decodeMessage(Buffer.from([0x08, 0x63])), /unknown raft message type number 99/);
  assert.throws(() => decodeMessage(Buffer.from([0x08])), /truncated varint/);
  // to = 2^53 (8-byte varint whose top byte has bit 4 set)
  assert.throws(() => decodeMessage(Buffer.from([0x08, 0x04, 0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10])), /above 2\^53/);
  assert.throws(() => decodeMessage(Buffer.from([0x08, 0x04, 0xa3, 0x01, 0x00])), /unsupported wire type 3/);
  assert.throws(() => decodeMessage(Buffer.from([0x08, 0x04, 0x12, 0x00])), /Message.to has wire type 2/);
});

test('numbers the wire cannot carry are refused on encode', () => {
  for (const bad of [-1, 1.5, Number.NaN, 2 ** 53]) {
    assert.throws(() => encodeMessage(message({ type: 'app', term: bad })), /integers in \[0, 2\^53\)/, String(bad));
  }
});
