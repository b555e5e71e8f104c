// The stepped snapshot encoder (KvStore.beginSnapshot): an image encoded in
// slices while the store keeps applying puts, deletes, compactions, restores
// and fault injections must be byte-identical to a synchronous snapshot()
// taken at the capture point, however the work is sliced, and whether or not
// it copies revisions from the image before (a base).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { KvStore } from './store.ts';
import zlib from 'node:zlib';
import { SnapshotBaseError, SnapshotEncoder, decodeSnapshot, encodeSnapshot } from './snapshot.ts';
import type { ImageLayout, ImageReader } from './snapshot.ts';
import { Revision } from './mvcc.ts';
import { b, Driver } from './testing.ts';
import { MemorySpill } from './spill.ts';

/** Each property runs with the whole history in memory and with old values spilled (a spill that refuses reads of what was let go). */
const SPILLS = [
  { name: '', spill: () => undefined },
  { name: ' (old values spilled)', spill: () => new MemorySpill() },
];

const KEYS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];

type Op =
  | { kind: 'put'; key: number; value: string }
  | { kind: 'del'; key: number; span: number }
  | { kind: 'txn'; keys: number[]; value: string }
  | { kind: 'compact'; back: number }
  | { kind: 'corrupt'; key: number }
  | { kind: 'restore' }
  | { kind: 'step'; budget: number };

const keyArb = fc.integer({ min: 0, max: KEYS.length - 1 });
const writeArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('put' as const), key: keyArb, value: fc.string({ maxLength: 80 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('del' as const), key: keyArb, span: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('txn' as const), keys: fc.uniqueArray(keyArb, { minLength: 1, maxLength: 3 }), value: fc.string({ maxLength: 8 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('compact' as const), back: fc.integer({ min: 0, max: 6 }) }) },
);
const afterArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: writeArb },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('corrupt' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restore' as const }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('step' as const), budget: fc.integer({ min: 1, max: 12 }) }) },
);

/** run applies one operation to the store (driven at consecutive indices); steps go to the encoder. */
function run(d: Driver, op: Op, encoder: SnapshotEncoder | undefined, other: Uint8Array): void {
  const store = d.store;
  switch (op.kind) {
    case 'put':
      d.put(KEYS[op.key], op.value);
      return;
    case 'del':
      d.del(KEYS[op.key], op.span === 0 ? undefined : KEYS[Math.min(op.key + op.span, KEYS.length - 1)] + '\u0000');
      return;
    case 'txn':
      d.txn({ compare: [], success: op.keys.map((k) => ({ requestPut: { key: b(KEYS[k]), value: b(op.value) } })), failure: [] });
      return;
    case 'compact': {
      // Mostly valid revisions (back from the current one); an invalid one is an error result, harmless.
      d.compact(Math.max(1, store.revision - op.back));
      return;
    }
    case 'corrupt':
      store.corruptValue(b(KEYS[op.key]));
      return;
    case 'restore':
      store.restore(other);
      d.index = store.appliedIndex;
      return;
    case 'step':
      encoder?.step(op.budget);
      return;
  }
}

for (const { name, spill } of SPILLS) test(`an image encoded in steps while the store changes is byte-identical to snapshot() at the capture point${name}`, () => {
  fc.assert(
    fc.property(
      fc.array(writeArb, { maxLength: 60 }),
      fc.array(afterArb, { maxLength: 80 }),
      fc.array(writeArb, { maxLength: 10 }),
      fc.integer({ min: 0, max: 12 }),
      (before, after, otherOps, headroom) => {
        // A second store's image, for restores in the middle of the encode.
        const o = new Driver({ checkpointInterval: 3, checkpointsKept: 2 });
        for (const op of otherOps) run(o, op, undefined, new Uint8Array());
        o.store.advanceTo(1000);
        const other = o.store.snapshot();

        const d = new Driver({ checkpointInterval: 3, checkpointsKept: 2, spill: spill() });
        for (const op of before) run(d, op, undefined, other);
        const expected = Buffer.from(d.store.snapshot(headroom)).subarray(headroom);
        // The store's one-pass encode (bounded by its totals) writes the bytes of the exact two-pass one.
        assert.ok(Buffer.from(encodeSnapshot(decodeSnapshot(expected))).equals(expected), 'one-pass and sized encodes differ');
        const encoder = d.store.beginSnapshot(headroom);
        for (const op of after) run(d, op, encoder, other);
        while (!encoder.step(5));
        assert.equal(encoder.sizedAgain, false, 'the totals bounded the image (no fall back to sizing)');
        const image = Buffer.from(encoder.result()).subarray(headroom);
        assert.ok(image.equals(expected), 'the stepped image differs from the synchronous one taken at the capture point');
        // And it is a valid snapshot of that state.
        const copy = new KvStore({ checkpointInterval: 3, checkpointsKept: 2, spill: spill() });
        copy.restore(image);
        assert.ok(Buffer.from(copy.snapshot()).equals(expected));
      },
    ),
    { numRuns: 400 },
  );
});

/** drainAll steps a streaming encoder to the end, collecting its chunks (copied: a chunk is valid until the next step). */
function drainAll(encoder: SnapshotEncoder, budget: number): Buffer {
  const parts: Buffer[] = [];
  for (;;) {
    const complete = encoder.step(budget);
    const chunk = encoder.takeChunk();
    if (chunk) parts.push(Buffer.from(chunk));
    if (complete && encoder.done) return Buffer.concat(parts);
  }
}

for (const { name, spill } of SPILLS) test(`a streamed image, taken chunk by chunk while the store changes, is the bytes of snapshot() at the capture point, within sizeRange${name}`, () => {
  fc.assert(
    fc.property(
      fc.array(writeArb, { maxLength: 60 }),
      fc.array(afterArb, { maxLength: 80 }),
      fc.integer({ min: 1, max: 300 }),
      fc.boolean(),
      (before, after, chunkBytes, exact) => {
        const d = new Driver({ checkpointInterval: 3, checkpointsKept: 2, spill: spill() });
        const other = new KvStore().snapshot();
        for (const op of before) run(d, op, undefined, other);
        const expected = Buffer.from(d.store.snapshot());
        const encoder = d.store.streamSnapshot(chunkBytes);
        const range = encoder.sizeRange!;
        assert.ok(range.min <= expected.length && expected.length <= range.max, `${expected.length} bytes outside [${range.min}, ${range.max}]`);
        if (exact) encoder.sizeExactly();
        const chunks: Buffer[] = [];
        for (const op of after) {
          if (op.kind === 'step') {
            if (!encoder.done) encoder.step(op.budget);
            const c = encoder.takeChunk();
            if (c) chunks.push(Buffer.from(c));
          } else {
            run(d, op, undefined, other);
          }
        }
        const image = Buffer.concat([...chunks, drainAll(encoder, 7)]);
        assert.ok(image.equals(expected), 'the streamed image differs from the synchronous one taken at the capture point');
        assert.equal(encoder.streamedBytes, expected.length);
        if (exact) assert.deepEqual(encoder.sizeRange, { min: expected.length, max: expected.length });
        assert.equal(encoder.sizedAgain, false);
      },
    ),
    { numRuns: 300 },
  );
});

test('a streaming encoder: chunks of about the chunk size, a key larger than a chunk whole in one, sized again on demand', () => {
  const d = new Driver();
  for (let i = 0; i < 40; i++) d.put(`key-${i % 9}`, 'v'.repeat(i === 20 ? 5000 : 100));
  const expected = Buffer.from(d.store.snapshot());
  const encoder = d.store.streamSnapshot(1024);
  assert.throws(() => encoder.encodeAll(), /has no whole image/);
  const sizes: number[] = [];
  const parts: Buffer[] = [];
  while (!encoder.done) {
    if (!encoder.step(Infinity)) assert.throws(() => encoder.step(1), /take the ready chunk/);
    const c = encoder.takeChunk()!;
    sizes.push(c.length);
    parts.push(Buffer.from(c));
  }
  assert.ok(Buffer.concat(parts).equals(expected));
  const large = sizes.filter((n) => n > 1024 - 4);
  assert.equal(large.length, 1, `chunk sizes ${sizes}: only the key larger than a chunk exceeds one`);
  assert.ok(large[0] > 5400 && large[0] < 5500, `the key with a 5000-character value (and 4 of 100) went out in one chunk of its own size (${large[0]})`);
  assert.ok(sizes.length >= 4, `chunk sizes ${sizes}`);
  // Started over with a sizing pass (as a host does when the image fell outside the range it was given).
  encoder.sizeExactly();
  assert.equal(encoder.sizedAgain, true);
  assert.ok(drainAll(encoder, 3).equals(expected));
  assert.deepEqual(encoder.sizeRange, { min: expected.length, max: expected.length });
  assert.throws(() => d.store.streamSnapshot(0), /positive chunk size/);
  assert.throws(() => new KvStore().beginSnapshot().sizeExactly(), /only a streaming encoder/);
});

for (const { name, spill } of SPILLS) test(`a compaction that drops every captured revision mid-encode leaves the image as captured${name}`, () => {
  const d = new Driver({ spill: spill() });
  for (let i = 0; i < 50; i++) d.put(`k${i % 10}`, `v${i}`);
  d.del('k0', 'k9');
  const expected = Buffer.from(d.store.snapshot());
  const encoder = d.store.beginSnapshot();
  assert.equal(encoder.step(3), false);
  for (let i = 0; i < 5; i++) d.put(`k${i}`, `late${i}`);
  d.del('k9');
  d.compact(d.store.revision);
  d.store.corruptValue(b('k1'));
  assert.equal(d.store.stats().revisions, 5, 'the compaction really dropped the captured history');
  let steps = 1;
  while (!encoder.step(3)) steps++;
  assert.ok(steps > 5, `the encode took ${steps} steps`);
  assert.ok(Buffer.from(encoder.result()).equals(expected));
  // The store itself moved on correctly: later reads see the compacted state.
  assert.deepEqual(d.keys(), ['k0=late0@53/53/v1', 'k1=late1\u0000corrupted@54/54/v1', 'k2=late2@55/55/v1', 'k3=late3@56/56/v1', 'k4=late4@57/57/v1']);
});

test('steps of any size give the bytes of encodeSnapshot; an unfinished encoder has no result', () => {
  const d = new Driver();
  for (let i = 0; i < 30; i++) d.put(`key-${i % 7}`, 'x'.repeat(i * 5));
  const whole = Buffer.from(d.store.snapshot(4)).subarray(4);
  for (const budget of [1, 2, 7, 1000]) {
    const encoder = d.store.beginSnapshot(4);
    assert.throws(() => encoder.result(), /has not finished/);
    let steps = 0;
    while (!encoder.step(budget)) steps++;
    assert.equal(encoder.done, true);
    assert.ok(Buffer.from(encoder.result()).subarray(4).equals(whole), `budget ${budget}`);
    if (budget === 1) assert.equal(steps, 7 - 1, 'one key per step, one pass');
  }
  // An empty store too.
  const empty = new KvStore();
  const encoder = empty.beginSnapshot();
  while (!encoder.step(1));
  assert.ok(Buffer.from(encoder.result()).equals(Buffer.from(empty.snapshot())));
});

test('totals that fall short of the source make the encoder size the image and write it again, to the same bytes', () => {
  const d = new Driver();
  for (let i = 0; i < 80; i++) d.put(`key-${i % 9}`, 'v'.repeat(1000 + i)); // past Buffer's pool: a buffer of its own
  const expected = Buffer.from(d.store.snapshot());
  const { keys, histories, ...header } = decodeSnapshot(expected);
  const source = { ...header, keyChunks: [keys], historyChunks: [histories] };
  for (const budget of [1, 3, 1000]) {
    const short = new SnapshotEncoder({ ...source, totals: { keys: 1, revisions: 2, keyAndValueChars: 150, valueChars: 100 } });
    while (!short.step(budget));
    const image = short.result();
    assert.equal(short.sizedAgain, true);
    assert.ok(Buffer.from(image).equals(expected), `budget ${budget}`);
    assert.equal(image.byteLength, image.buffer.byteLength, 'the exact size after the fall back');
  }
});

test('revisions appended after the capture are left out; a key with none before it is refused', () => {
  const history = [new Revision(2, 0, 2, 1, 'v')];
  const source = { appliedIndex: 2, currentRevision: 2, compactRevision: -1, checkpoints: [], keyChunks: [['k']], historyChunks: [[history]] };
  const expected = Buffer.from(encodeSnapshot({ appliedIndex: 2, currentRevision: 2, compactRevision: -1, checkpoints: [], keys: ['k'], histories: [history] }));
  const encoder = new SnapshotEncoder(source);
  history.push(new Revision(3, 0, 2, 2, 'w'));
  while (!encoder.step(100));
  assert.ok(Buffer.from(encoder.result()).equals(expected));
  const late = new SnapshotEncoder({ ...source, historyChunks: [[[new Revision(3, 0, 3, 1, 'x')]]] });
  assert.throws(() => { while (!late.step(100)); }, /a key has no revision at or before the snapshot's revision 2/);
  assert.throws(() => new SnapshotEncoder({ ...source, keyChunks: [['k', 'l']] }), /differ in length/);
});

test('a capture in the middle of a write is refused', () => {
  const d = new Driver();
  d.put('a', '1');
  const ks = (d.store as unknown as { ks: { put(k: string, v: string, main: number, sub: number): void } }).ks;
  ks.put('b', '2', d.store.revision + 1, 0); // a pending txn write: not yet the current revision
  assert.throws(() => d.store.beginSnapshot(), /capture while revision 3 is being written \(current 2\)/);
});

/**
 * ImageBytes reads an earlier image from memory (as a member reads its last
 * snapshot's file), counts the bytes it copied, checks the image's checksum
 * in verify, and may be damaged.
 */
class ImageBytes implements ImageReader {
  copied = 0;
  closed = 0;
  readonly image: Buffer;
  constructor(image: Buffer) {
    this.image = image;
  }
  rewind(): void {}
  copy(offset: number, length: number, into: Uint8Array, at: number): void {
    if (offset + length > this.image.length - 4) throw new Error('a copy past the image');
    this.image.copy(into, at, offset, offset + length);
    this.copied += length;
  }
  verify(): void {
    const end = this.image.length - 4;
    if ((zlib.crc32(this.image.subarray(0, end)) >>> 0) !== this.image.readUInt32BE(end)) throw new Error('checksum mismatch');
  }
  close(): void {
    this.closed++;
  }
}

/** streamWith streams an image while applying `during` (its steps step the encoder), then drains it; a SnapshotBaseError drops the base and goes on. */
function streamWith(d: Driver, encoder: SnapshotEncoder, during: Op[], other: Uint8Array): { image: Buffer; dropped: boolean } {
  let chunks: Buffer[] = [];
  let dropped = false;
  const step = (budget: number): boolean => {
    try {
      const complete = encoder.step(budget);
      const chunk = encoder.takeChunk();
      if (chunk) chunks.push(Buffer.from(chunk));
      return complete && encoder.done;
    } catch (e) {
      if (!(e instanceof SnapshotBaseError)) throw e;
      encoder.dropBase();
      chunks = [];
      dropped = true;
      return false;
    }
  };
  for (const op of during) {
    if (op.kind === 'step') step(op.budget);
    else run(d, op, undefined, other);
  }
  while (!step(7));
  return { image: Buffer.concat(chunks), dropped };
}

for (const { name, spill } of SPILLS) test(`an image that copies revisions from the one before (its layout and bytes) is the bytes of snapshot(); a damaged base is dropped${name}`, () => {
  const round = fc.record({
    writes: fc.array(afterArb.filter((op) => op.kind !== 'step'), { maxLength: 30 }),
    during: fc.array(afterArb, { maxLength: 30 }),
    chunkBytes: fc.integer({ min: 1, max: 300 }),
    damage: fc.boolean(),
  });
  fc.assert(
    fc.property(fc.array(writeArb, { maxLength: 40 }), fc.array(round, { minLength: 1, maxLength: 5 }), (first, rounds) => {
      const d = new Driver({ checkpointInterval: 3, checkpointsKept: 2, spill: spill() });
      const other = new KvStore().snapshot();
      for (const op of first) run(d, op, undefined, other);
      let base: { layout: ImageLayout; reader: ImageBytes } | undefined;
      for (const r of rounds) {
        for (const op of r.writes) run(d, op, undefined, other);
        if (base && r.damage) base.reader.image[Math.floor(base.reader.image.length / 2)] ^= 0x20;
        const expected = Buffer.from(d.store.snapshot());
        const encoder = d.store.streamSnapshot(r.chunkBytes, base);
        const used = encoder.usesBase;
        const { image, dropped } = streamWith(d, encoder, r.during, other);
        assert.ok(image.equals(expected), 'the image differs from snapshot() at the capture point');
        assert.ok(encoder.copied <= image.length, `copied ${encoder.copied} bytes of a ${image.length}-byte image (a key written again counted twice)`);
        if (used && r.damage) assert.ok(dropped, 'a damaged base is found out before the image is complete');
        const layout = encoder.layout;
        assert.ok(layout, 'a finished streamed encode has a layout');
        encoder.close();
        if (base) assert.equal(base.reader.closed, 1, 'the base reader is closed once, used or not');
        base = { layout, reader: new ImageBytes(image) };
      }
    }),
    { numRuns: 300 },
  );
});

test('an image of a store that only grew copies what the one before held; after a compaction nothing is copied', () => {
  const d = new Driver({ spill: new MemorySpill() });
  for (let i = 0; i < 200; i++) d.put(`key-${i % 50}`, `value-${i}`.padEnd(100, '.'));
  const first = d.store.streamSnapshot(1024);
  const one = streamWith(d, first, [], new Uint8Array()).image;
  const reader = new ImageBytes(one);
  for (let i = 0; i < 20; i++) d.put(`key-${i}`, `later-${i}`);
  d.put('key-new', 'new');
  const second = d.store.streamSnapshot(1024, { layout: first.layout!, reader });
  assert.equal(second.usesBase, true);
  const two = streamWith(d, second, [], new Uint8Array()).image;
  assert.ok(two.equals(Buffer.from(d.store.snapshot())));
  assert.ok(reader.copied > one.length * 0.9, `copied ${reader.copied} of the ${one.length} bytes before`);

  d.compact(d.store.revision - 5);
  const reader2 = new ImageBytes(two);
  const third = d.store.streamSnapshot(1024, { layout: second.layout!, reader: reader2 });
  assert.equal(third.usesBase, false, 'compaction replaced histories: the layout no longer describes them');
  assert.equal(reader2.closed, 1, 'a base not used is closed at once');
  assert.ok(streamWith(d, third, [], new Uint8Array()).image.equals(Buffer.from(d.store.snapshot())));
});
