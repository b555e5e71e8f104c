// Delta images (SnapshotSource.since, version 2) and mergeImages: a delta laid
// onto the image it extends is byte for byte the whole image snapshot() gives
// at the delta's capture point, however many deltas are chained and whether
// they are folded together first or laid on in one pass; a store that was compacted, restored or had
// a value rewritten since gives a whole image instead; a delta laid onto
// anything but the image it extends is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fc from 'fast-check';
import { KvStore } from './store.ts';
import { decodeSnapshot, type DeltaBase, type SnapshotEncoder } from './snapshot.ts';
import { ImageMerge, imageKind, mergeImages } from './image-merge.ts';
import { b, Driver } from './testing.ts';
import { MemorySpill } from './spill.ts';

const KEYS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];

type Write =
  | { kind: 'put'; key: number; value: string }
  | { kind: 'del'; key: number }
  | { kind: 'compact'; back: number }
  | { kind: 'corrupt'; key: number }
  | { kind: 'restore' };

const keyArb = fc.integer({ min: 0, max: KEYS.length - 1 });
const writeArb: fc.Arbitrary<Write> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ kind: fc.constant('put' as const), key: keyArb, value: fc.string({ maxLength: 60 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('del' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('compact' as const), back: fc.integer({ min: 0, max: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('corrupt' as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restore' as const }) },
);

/** disturbed: a compaction, rewritten value or restore was applied since it was last cleared (a delta may then be refused) */
let disturbed = false;

function apply(d: Driver, w: Write, other: Uint8Array): void {
  if (w.kind === 'compact' || w.kind === 'corrupt' || w.kind === 'restore') disturbed = true;
  switch (w.kind) {
    case 'put':
      d.put(KEYS[w.key], w.value);
      return;
    case 'del':
      d.del(KEYS[w.key]);
      return;
    case 'compact':
      d.compact(Math.max(1, d.store.revision - w.back));
      return;
    case 'corrupt':
      d.store.corruptValue(b(KEYS[w.key]));
      return;
    case 'restore':
      d.store.restore(other);
      d.index = d.store.appliedIndex;
      return;
  }
}

/** stream runs a streaming encoder to the end, applying `during` between its steps, and returns the image. */
function stream(d: Driver, encoder: SnapshotEncoder, during: Write[], other: Uint8Array): Buffer {
  const chunks: Buffer[] = [];
  let k = 0;
  for (;;) {
    const complete = encoder.step(3);
    const chunk = encoder.takeChunk();
    if (chunk) chunks.push(Buffer.from(chunk));
    if (complete && encoder.done) break;
    if (k < during.length) apply(d, during[k++], other);
  }
  while (k < during.length) apply(d, during[k++], other);
  encoder.close();
  return Buffer.concat(chunks);
}

for (const spilled of [false, true]) test(`a chain of deltas laid onto its whole image, one by one or folded first, is the bytes of snapshot() at the last capture${spilled ? ' (old values spilled)' : ''}`, () => {
  const round = fc.record({
    writes: fc.array(writeArb, { maxLength: 25 }),
    during: fc.array(writeArb, { maxLength: 10 }),
    chunkBytes: fc.integer({ min: 1, max: 200 }),
  });
  fc.assert(
    fc.property(fc.array(writeArb, { maxLength: 30 }), fc.array(round, { minLength: 1, maxLength: 6 }), (first, rounds) => {
      const d = new Driver({ checkpointInterval: 3, checkpointsKept: 2, spill: spilled ? new MemorySpill() : undefined });
      disturbed = false;
      const other = new KvStore().snapshot();
      for (const w of first) apply(d, w, other);
      let since: DeltaBase | undefined;
      let root: Buffer | undefined;
      let deltas: Buffer[] = [];
      for (const r of rounds) {
        for (const w of r.writes) apply(d, w, other);
        const expected = Buffer.from(d.store.snapshot());
        const mayRefuse = disturbed;
        disturbed = false;
        const encoder = d.store.streamSnapshot(r.chunkBytes, undefined, since);
        const range = encoder.sizeRange!;
        const image = stream(d, encoder, r.during, other);
        assert.ok(image.length >= range.min && image.length <= range.max, `image of ${image.length} bytes outside its size range [${range.min}, ${range.max}]`);
        if (encoder.delta) {
          assert.ok(root, 'a delta extends an image');
          assert.equal(encoder.layout, undefined, 'a delta has no layout to copy from');
          assert.deepEqual(imageKind(image), { delta: true, baseRevision: since!.revision });
          assert.throws(() => decodeSnapshot(image), /a delta image cannot be restored alone/);
          deltas.push(image);
          const stepwise = deltas.reduce((acc, dl) => Buffer.from(mergeImages(acc, dl)), root!);
          assert.ok(stepwise.equals(expected), 'the deltas laid one by one onto the image differ from snapshot()');
          const folded = deltas.slice(1).reduce((acc, dl) => Buffer.from(mergeImages(acc, dl)), deltas[0]);
          assert.deepEqual(imageKind(folded).delta, true);
          assert.ok(Buffer.from(mergeImages(root!, folded)).equals(expected), 'the folded deltas laid onto the image differ from snapshot()');
          assert.ok(Buffer.from(mergeImages(root!, deltas)).equals(expected), 'the chain laid on in one pass differs from snapshot()');
          // the same merge a key or two per step (as a member runs it in slices), after 3 bytes of headroom
          const stepped = new ImageMerge(root!, deltas, 3);
          assert.throws(() => stepped.result(), /not finished/);
          let steps = 0;
          while (!stepped.step(1 + (steps % 2))) steps++;
          assert.ok(Buffer.from(stepped.result()).subarray(3).equals(expected), 'the chain merged step by step differs from snapshot()');
          if (deltas.length > 1) assert.ok(Buffer.from(mergeImages(deltas[0], deltas.slice(1))).equals(folded), 'deltas merged in one pass differ from folding them');
        } else {
          assert.ok(since === undefined || mayRefuse, 'a store only appended to since the last capture gives a delta');
          assert.ok(image.equals(expected), 'a whole image differs from snapshot()');
          assert.deepEqual(imageKind(image), { delta: false });
          root = image;
          deltas = [];
        }
        since = encoder.deltaBase;
      }
    }),
    { numRuns: 300 },
  );
});

test('only a store whose histories were appended to since gives a delta, and it holds only the new revisions', () => {
  const d = new Driver({ spill: new MemorySpill() });
  for (let i = 0; i < 300; i++) d.put(`key-${i % 100}`, `value-${i}`.padEnd(200, '.'));
  const first = d.store.streamSnapshot(4096);
  const whole = stream(d, first, [], new Uint8Array());
  for (let i = 0; i < 10; i++) d.put(`key-${i}`, `later-${i}`.padEnd(200, '.'));
  d.put('key-new', 'new');
  const second = d.store.streamSnapshot(4096, undefined, first.deltaBase);
  assert.equal(second.delta, true);
  const delta = stream(d, second, [], new Uint8Array());
  // 11 new revisions of ~200 bytes and 101 keys listed: a small fraction of the whole.
  assert.ok(delta.length < whole.length / 10, `delta of ${delta.length} bytes against ${whole.length}`);
  assert.ok(Buffer.from(mergeImages(whole, delta)).equals(Buffer.from(d.store.snapshot())));

  d.compact(d.store.revision - 5);
  const third = d.store.streamSnapshot(4096, undefined, second.deltaBase);
  assert.equal(third.delta, false, 'compaction replaced histories: no delta');
  assert.ok(stream(d, third, [], new Uint8Array()).equals(Buffer.from(d.store.snapshot())));
  const fourth = d.store.streamSnapshot(4096, undefined, new KvStore().streamSnapshot(64).deltaBase);
  assert.equal(fourth.delta, false, 'a capture of another store: no delta');
  fourth.close();
});

test('a delta laid onto another image, a non-delta, or damaged bytes is refused', () => {
  const d = new Driver();
  for (let i = 0; i < 20; i++) d.put(`k${i % 7}`, `v${i}`);
  const e1 = d.store.streamSnapshot(1 << 16);
  const whole = stream(d, e1, [], new Uint8Array());
  d.put('k1', 'x');
  const e2 = d.store.streamSnapshot(1 << 16, undefined, e1.deltaBase);
  const delta = stream(d, e2, [], new Uint8Array());
  d.put('k2', 'y');
  const e3 = d.store.streamSnapshot(1 << 16, undefined, e2.deltaBase);
  const delta2 = stream(d, e3, [], new Uint8Array());
  const later = Buffer.from(d.store.snapshot());

  assert.throws(() => mergeImages(whole, delta2), /extends revision 22, not this image's revision 21/);
  assert.throws(() => mergeImages(whole, later), /is not a delta/);
  assert.throws(() => mergeImages(delta2, delta), /extends revision 21, not this image's revision 23/);
  for (const [at, what] of [[10, 'delta image 1'], [delta.length - 2, 'delta image 1']] as const) {
    const bad = Buffer.from(delta);
    bad[at] ^= 1;
    assert.throws(() => mergeImages(whole, bad), new RegExp(`${what}: checksum mismatch`));
  }
  const badBase = Buffer.from(whole);
  badBase[30] ^= 4;
  assert.throws(() => mergeImages(badBase, delta), /the base image: checksum mismatch/);
  assert.throws(() => mergeImages(whole, delta.subarray(0, 3)), /not a replicant KV snapshot/);
  // A base at the same revision with a key the delta does not list: the delta was not made of it.
  const other = new Driver();
  for (let i = 0; i < 19; i++) other.put(`k${i % 7}`, `v${i}`);
  other.put('zz', 'only here');
  const o1 = other.store.streamSnapshot(1 << 16);
  const otherWhole = stream(other, o1, [], new Uint8Array());
  other.put('k1', 'x');
  const o2 = other.store.streamSnapshot(1 << 16, undefined, o1.deltaBase);
  const otherDelta = stream(other, o2, [], new Uint8Array());
  assert.ok(Buffer.from(mergeImages(otherWhole, otherDelta)).equals(Buffer.from(other.store.snapshot())));
  assert.throws(() => mergeImages(otherWhole, delta), /a key of an earlier image is missing from a later delta/);
  d.put('k3', 'z');
  assert.ok(Buffer.from(mergeImages(mergeImages(whole, delta), delta2)).equals(later));
  assert.ok(Buffer.from(mergeImages(whole, [delta, delta2])).equals(later), 'a chain in one pass');
  assert.throws(() => mergeImages(whole, [delta2, delta]), /extends revision 22, not this image's revision 21/);
  assert.throws(() => mergeImages(whole, []), /no delta/);
  const headroom = mergeImages(whole, delta, 5);
  assert.ok(Buffer.from(headroom.subarray(5)).equals(Buffer.from(mergeImages(whole, delta))), 'headroom goes before the image');
});
