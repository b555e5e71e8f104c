// Tests for the byte-level formats: varints, record framing, record bodies and
// snapshot files. Round trips are property-based; decoding random or damaged
// bytes must fail only with the module's own RangeError / corruption errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Entry, HardState } from '../raft/types.ts';
import { DataDirMismatchError, SnapshotCorruptError } from './errors.ts';
import { crc32 } from 'node:zlib';
import { FRAME_HEADER_BYTES, hasUnwrittenSector, headerCrc, readFrame } from './frame.ts';
import { decodeRecord, encodeBatch, encodeRecord, encodeSegmentHeader, UnknownFormatVersion, WAL_FORMAT_VERSION } from './records.ts';
import type { WalRecord } from './records.ts';
import { decodeSnapshotFile, encodeSnapshotFile } from './snapshot-file.ts';
import { VarintReader, putVarint, varintSize } from './varint.ts';

const safeUint = fc.oneof(
  fc.integer({ min: 0, max: 300 }),
  fc.integer({ min: 0, max: 2 ** 32 + 10 }),
  fc.constantFrom(0, 127, 128, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 35 - 1, 2 ** 35, 2 ** 49, Number.MAX_SAFE_INTEGER),
  fc.maxSafeNat(),
);

test('varints round-trip every safe integer, including the 2^32..2^53 range', () => {
  fc.assert(
    fc.property(safeUint, (v) => {
      const buf = new Uint8Array(varintSize(v));
      assert.equal(putVarint(buf, 0, v), buf.length);
      const r = new VarintReader(buf);
      assert.equal(r.uint('v'), v);
      r.end('v');
    }),
    { numRuns: 2000 },
  );
  assert.equal(varintSize(Number.MAX_SAFE_INTEGER), 8);
});

test('varint decoding rejects overlong, unsafe and truncated encodings', () => {
  assert.throws(() => new VarintReader(Uint8Array.from([0x80, 0x80])).uint('x'), /runs past the end/);
  assert.throws(() => new VarintReader(Uint8Array.from([0x80, 0x00])).uint('x'), /redundant zero/);
  assert.throws(() => new VarintReader(new Uint8Array(9).fill(0xff)).uint('x'), /longer than 8 bytes/);
  // 2^56 - 1: eight full groups, above 2^53 - 1
  assert.throws(() => new VarintReader(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])).uint('x'), /exceeds 2\^53-1/);
});

const entryArb: fc.Arbitrary<Entry> = fc.record({
  term: safeUint,
  index: safeUint.filter((i) => i > 0),
  type: fc.constantFrom('normal' as const, 'confChange' as const),
  data: fc.uint8Array({ maxLength: 600 }),
});
const hardStateArb: fc.Arbitrary<HardState> = fc.record({ term: safeUint, vote: safeUint, commit: safeUint });

function decodeAll(buf: Buffer): WalRecord[] {
  const out: WalRecord[] = [];
  let off = 0;
  for (;;) {
    const f = readFrame(buf, off);
    if (f.kind === 'end') return out;
    assert.equal(f.kind, 'record');
    if (f.kind !== 'record') return out;
    out.push(decodeRecord(f.body));
    off = f.next;
  }
}

test('a batch of entries and a hard state decodes to the same records, entries first', () => {
  fc.assert(
    fc.property(fc.array(entryArb, { maxLength: 8 }), fc.option(hardStateArb, { nil: undefined }), (ents, hs) => {
      const recs = decodeAll(encodeBatch(ents, hs));
      assert.equal(recs.length, ents.length + (hs ? 1 : 0));
      ents.forEach((e, k) => {
        const r = recs[k];
        assert.equal(r.kind, 'entry');
        if (r.kind === 'entry') {
          assert.deepEqual({ ...r.entry, data: Buffer.from(r.entry.data) }, { ...e, data: Buffer.from(e.data) });
        }
      });
      if (hs) assert.deepEqual(recs[recs.length - 1], { kind: 'hardState', hardState: { ...hs } });
    }),
    { numRuns: 500 },
  );
});

test('segment headers carry metadata, hard state and the newest snapshot marker', () => {
  const meta = { version: WAL_FORMAT_VERSION, clusterId: 2 ** 40 + 3, memberId: 7, seq: 12, prevIndex: 2 ** 33, prevTerm: 9 };
  const hs = { term: 9, vote: 7, commit: 2 ** 33 - 5 };
  assert.deepEqual(decodeAll(encodeSegmentHeader(meta, hs, { index: 100, term: 4 })), [
    { kind: 'metadata', metadata: meta },
    { kind: 'hardState', hardState: hs },
    { kind: 'snapshot', marker: { index: 100, term: 4 } },
  ]);
  assert.equal(decodeAll(encodeSegmentHeader(meta, hs, undefined)).length, 2);
});

test('a metadata record of another format version is reported as such, not as garbage', () => {
  const buf = encodeRecord({ kind: 'metadata', metadata: { version: 99, clusterId: 1, memberId: 1, seq: 0, prevIndex: 0, prevTerm: 0 } });
  const f = readFrame(buf, 0);
  assert.equal(f.kind, 'record');
  if (f.kind === 'record') assert.throws(() => decodeRecord(f.body), UnknownFormatVersion);
});

test('every single flipped byte of a frame is detected by a checksum', () => {
  const buf = encodeBatch([{ term: 3, index: 77, type: 'normal', data: new Uint8Array(40).fill(9) }], undefined);
  for (let i = 0; i < buf.length; i++) {
    const copy = Buffer.from(buf);
    copy[i] ^= 0x01;
    const f = readFrame(copy, 0);
    // Length and body checksum are covered by the header checksum, the body by its own.
    assert.equal(f.kind, i < FRAME_HEADER_BYTES ? 'badHeader' : 'badBody', `flip at ${i}`);
  }
});

test('the in-place header checksum is zlib.crc32 of the 8 header bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 8, maxLength: 40 }), fc.nat(32), (bytes, at) => {
      const off = at % (bytes.length - 7);
      assert.equal(headerCrc(bytes, off), crc32(bytes.subarray(off, off + 8)));
    }),
    { numRuns: 2000 },
  );
});

test('an all-zero header never checks out, so preallocated space is never read as a record', () => {
  assert.equal(readFrame(Buffer.alloc(64), 0).kind, 'badHeader');
  assert.equal(readFrame(Buffer.alloc(5), 0).kind, 'shortHeader');
});

test('hasUnwrittenSector finds zero runs only from the start or a sector boundary', () => {
  const buf = Buffer.alloc(2048, 1);
  buf.fill(0, 1024, 1536);
  assert.equal(hasUnwrittenSector(buf, 900, 1600), true);
  assert.equal(hasUnwrittenSector(buf, 900, 1024), false);
  const b2 = Buffer.alloc(2048, 1);
  b2.fill(0, 1000, 1030); // zeros straddling a boundary but not a whole run to the end
  assert.equal(hasUnwrittenSector(b2, 900, 2048), false);
  assert.equal(hasUnwrittenSector(b2, 1000, 1010), true); // record starts in zeros
});

test('decoding random bytes as frames and records fails only with RangeError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const buf = Buffer.from(bytes);
      let off = 0;
      for (;;) {
        const f = readFrame(buf, off);
        if (f.kind !== 'record') break;
        off = f.next;
      }
      try {
        decodeRecord(buf);
      } catch (err) {
        assert.ok(err instanceof RangeError, `unexpected ${String(err)}`);
      }
    }),
    { numRuns: 3000 },
  );
});

const ids = { clusterId: 0xabc, memberId: 0x12 };

test('snapshot files round-trip and refuse damage, truncation and other members', () => {
  const snap = {
    metadata: {
      index: 2 ** 34,
      term: 7,
      confState: { voters: [1, 2], learners: [5], votersOutgoing: [1, 2, 3], learnersNext: [3], autoLeave: true },
    },
    data: Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff),
  };
  const bytes = Buffer.concat(encodeSnapshotFile(ids, snap));
  const back = decodeSnapshotFile('x.snap', bytes, ids);
  assert.deepEqual({ metadata: back.metadata, data: Buffer.from(back.data) }, { ...snap, data: Buffer.from(snap.data) });
  assert.equal(back.extends, undefined, 'a whole file extends nothing');
  assert.equal(back.crc, bytes.readUInt32LE(bytes.length - 4));
  for (const i of [0, 9, 20, 500, bytes.length - 1]) {
    const copy = Buffer.from(bytes);
    copy[i] ^= 0x10;
    assert.throws(() => decodeSnapshotFile('x.snap', copy, ids), SnapshotCorruptError, `flip at ${i}`);
  }
  for (const n of [0, 8, 12, bytes.length - 1]) {
    assert.throws(() => decodeSnapshotFile('x.snap', bytes.subarray(0, n), ids), SnapshotCorruptError, `cut at ${n}`);
  }
  assert.throws(() => decodeSnapshotFile('x.snap', bytes, { ...ids, memberId: 0x13 }), DataDirMismatchError);
});

test('decoding random snapshot files fails only with SnapshotCorruptError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
      const withMagic = Buffer.concat([Buffer.from('replsnap', 'latin1'), Buffer.from(bytes)]);
      for (const b of [Buffer.from(bytes), withMagic]) {
        assert.throws(() => decodeSnapshotFile('r.snap', b, ids), (err) => err instanceof SnapshotCorruptError || err instanceof DataDirMismatchError);
      }
    }),
    { numRuns: 2000 },
  );
});
