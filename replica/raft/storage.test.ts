// MemoryStorage's released snapshot image: the host's loader answers for it,
// a failing loader only delays raft, and a newer snapshot forgets the loader;
// an image is unshared (the host may free it) until raft reads it. Its packed
// log answers as a plain array of entries would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Buffer } from 'node:buffer';
import { MemoryStorage, PACKED_BLOCK_BYTES, limitSize } from './storage.ts';
import { CompactedError, SnapshotOutOfDateError, SnapshotTemporarilyUnavailableError, UnavailableError } from './errors.ts';
import type { Entry } from './types.ts';
import { emptyConfState } from './types.ts';

function logTo(last: number): MemoryStorage {
  const s = new MemoryStorage();
  const ents: Entry[] = [];
  for (let i = 1; i <= last; i++) ents.push({ index: i, term: 1, type: 'normal', data: new Uint8Array([i]) });
  s.append(ents);
  return s;
}

test('a released snapshot image comes from the loader, each time raft asks, with the same metadata', () => {
  const s = logTo(10);
  const image = new Uint8Array([7, 7, 7]);
  const before = s.createSnapshot(5, emptyConfState(), image);
  let loads = 0;
  assert.equal(s.releaseSnapshotData(5, () => (loads++, new Uint8Array(image))), true);
  assert.equal(loads, 0, 'nothing is loaded until raft asks');
  for (let k = 1; k <= 2; k++) {
    const snap = s.snapshot();
    assert.deepEqual(snap.metadata, before.metadata);
    assert.deepEqual(snap.data, image);
    assert.equal(loads, k);
  }
});

test('releasing another index than the current snapshot changes nothing', () => {
  const s = logTo(10);
  const image = new Uint8Array([1, 2]);
  s.createSnapshot(5, emptyConfState(), image);
  assert.equal(s.releaseSnapshotData(4, () => new Uint8Array()), false);
  assert.equal(s.snapshot().data, image);
  assert.equal(new MemoryStorage().releaseSnapshotData(0, () => new Uint8Array()), false, 'the empty initial snapshot has nothing to release');
});

test('a failing loader makes the snapshot temporarily unavailable, which raft retries', () => {
  const s = logTo(10);
  s.createSnapshot(5, emptyConfState(), new Uint8Array([1]));
  s.releaseSnapshotData(5, () => {
    throw new Error('disk says no');
  });
  assert.throws(() => s.snapshot(), SnapshotTemporarilyUnavailableError);
});

test('a newer snapshot, created or applied, is held in memory again and the old loader is never called', () => {
  const s = logTo(10);
  s.createSnapshot(5, emptyConfState(), new Uint8Array([1]));
  s.releaseSnapshotData(5, () => assert.fail('stale loader called'));
  const created = new Uint8Array([2]);
  s.createSnapshot(8, emptyConfState(), created);
  assert.equal(s.snapshot().data, created);
  s.releaseSnapshotData(8, () => assert.fail('stale loader called'));
  const applied = new Uint8Array([3]);
  s.applySnapshot({ metadata: { index: 20, term: 2, confState: emptyConfState() }, data: applied });
  assert.equal(s.snapshot().data, applied);
});

test('createReleasedSnapshot records a snapshot whose image only the host\'s loader gives', () => {
  const s = logTo(10);
  let loads = 0;
  const image = new Uint8Array([7, 7]);
  const m = s.createReleasedSnapshot(7, emptyConfState(), () => (loads++, image));
  assert.deepEqual({ index: m.index, term: m.term }, { index: 7, term: s.term(7) });
  assert.equal(loads, 0, 'nothing is read until raft asks');
  assert.equal(s.snapshot().data, image);
  assert.equal(loads, 1);
  assert.throws(() => s.createReleasedSnapshot(7, emptyConfState(), () => image), SnapshotOutOfDateError);
});

/** A model of the log MemoryStorage keeps: the offset entry, then every entry as given. */
interface ModelLog {
  offset: number;
  offsetTerm: number;
  ents: Entry[];
}

type LogOp =
  | { kind: 'append'; back: number; count: number; sizes: number[]; termUp: boolean }
  | { kind: 'compact'; back: number }
  | { kind: 'snapshot'; ahead: number }
  | { kind: 'read'; lo: number; span: number; maxSize: number };

const sizeArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 100 }) },
  { weight: 2, arbitrary: fc.integer({ min: 50_000, max: 250_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 262_145, max: 400_000 }) },
);
const logOpArb: fc.Arbitrary<LogOp> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('append' as const), back: fc.integer({ min: 0, max: 4 }), count: fc.integer({ min: 1, max: 6 }), sizes: fc.array(sizeArb, { minLength: 6, maxLength: 6 }), termUp: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('compact' as const), back: fc.integer({ min: 0, max: 8 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('snapshot' as const), ahead: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('read' as const), lo: fc.integer({ min: 0, max: 12 }), span: fc.integer({ min: 1, max: 8 }), maxSize: fc.integer({ min: 0, max: 600_000 }) }) },
);

/** bytesOf makes `size` bytes that tell the entry and the position apart. */
function bytesOf(index: number, term: number, size: number): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (index * 31 + term * 7 + i) & 0xff;
  return b;
}

test('the packed log answers entries, terms and bounds as a plain array of entries would, and views handed out never change', () => {
  fc.assert(
    fc.property(fc.array(logOpArb, { maxLength: 40 }), (ops) => {
      const s = new MemoryStorage();
      const m: ModelLog = { offset: 0, offsetTerm: 0, ents: [] };
      const handedOut: Array<{ view: Uint8Array; copy: Uint8Array }> = [];
      let term = 1;
      const last = () => m.offset + m.ents.length;
      for (const op of ops) {
        if (op.kind === 'append') {
          // From up to `back` entries before the end (a conflicting suffix is replaced), never before the offset.
          const from = Math.max(m.offset + 1, last() + 1 - op.back);
          if (op.termUp) term++;
          const ents: Entry[] = [];
          for (let k = 0; k < op.count; k++) {
            const index = from + k;
            const type = index % 5 === 0 ? 'confChange' : 'normal';
            ents.push({ index, term, type, data: bytesOf(index, term, op.sizes[k]) });
          }
          s.append(ents);
          m.ents = [...m.ents.slice(0, from - m.offset - 1), ...ents];
        } else if (op.kind === 'compact') {
          const at = last() - op.back;
          if (at <= m.offset) {
            assert.throws(() => s.compact(at), CompactedError);
            continue;
          }
          s.compact(at);
          m.offsetTerm = m.ents[at - m.offset - 1].term;
          m.ents = m.ents.slice(at - m.offset);
          m.offset = at;
        } else if (op.kind === 'snapshot') {
          const index = last() + op.ahead;
          s.applySnapshot({ metadata: { index, term, confState: emptyConfState() }, data: new Uint8Array() });
          m.offset = index;
          m.offsetTerm = term;
          m.ents = [];
        } else {
          const lo = m.offset + op.lo;
          const hi = Math.min(lo + op.span, last() + 1);
          if (lo <= m.offset) {
            assert.throws(() => s.entries(lo, hi, op.maxSize), CompactedError);
            continue;
          }
          if (lo >= hi) continue;
          const got = s.entries(lo, hi, op.maxSize);
          const want = limitSize(m.ents.slice(lo - m.offset - 1, hi - m.offset - 1), op.maxSize);
          assert.equal(got.length, want.length, `entries(${lo}, ${hi}, ${op.maxSize})`);
          got.forEach((e, i) => {
            assert.deepEqual({ ...e, data: [...e.data] }, { ...want[i], data: [...want[i].data] });
            handedOut.push({ view: e.data, copy: e.data.slice() });
          });
        }
        assert.equal(s.firstIndex(), m.offset + 1);
        assert.equal(s.lastIndex(), last());
        assert.equal(s.term(m.offset), m.offsetTerm);
        m.ents.forEach((e) => assert.equal(s.term(e.index), e.term));
        assert.throws(() => s.term(last() + 1), UnavailableError);
        if (m.offset > 0) assert.throws(() => s.term(m.offset - 1), CompactedError);
      }
      for (const h of handedOut) assert.deepEqual(h.view, h.copy, 'a view handed out was overwritten');
    }),
    { numRuns: 300 },
  );
});

test('entry data is copied in, also a large entry given as a Buffer (whose slice() would be a view)', () => {
  const s = new MemoryStorage();
  const small = Buffer.alloc(100, 1);
  const large = Buffer.alloc(PACKED_BLOCK_BYTES / 2, 2);
  s.append([
    { index: 1, term: 1, type: 'normal', data: small },
    { index: 2, term: 1, type: 'normal', data: large },
  ]);
  small.fill(9);
  large.fill(9);
  const [a, b] = s.entries(1, 3, Infinity);
  assert.ok(a.data.every((x) => x === 1), 'the small entry kept its bytes');
  assert.ok(b.data.length === large.length && b.data.every((x) => x === 2), 'the large entry kept its bytes');
});
