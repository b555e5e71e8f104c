// Snapshot reassembly is bounded, in order, and verified by CRC-32.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { emptyConfState, message } from '../raft/types.ts';
import { SnapshotAssembler } from './snapshot-assembler.ts';

const data = new Uint8Array(1000).map((_, i) => (i * 7) & 255);
const snap = message({ type: 'snap', to: 2, from: 1, term: 4, snapshot: { metadata: { index: 90, term: 4, confState: emptyConfState() }, data: new Uint8Array(0) } });

function chunks(size: number) {
  const out = [];
  for (let off = 0; off < data.length; off += size) {
    out.push({ ...(off === 0 ? { message: snap } : {}), totalBytes: data.length, crc32: crc32(data), offset: off, data: data.subarray(off, off + size) });
  }
  return out;
}

test('chunks reassemble byte for byte into the snap message', () => {
  const a = new SnapshotAssembler(4096);
  for (const c of chunks(300)) a.accept(c);
  const m = a.finish();
  assert.equal(m.type, 'snap');
  assert.equal(m.snapshot!.metadata.index, 90);
  assert.deepEqual(m.snapshot!.data, data);
});

test('oversized, out-of-order, overlong, short and corrupted uploads are refused', () => {
  assert.throws(() => new SnapshotAssembler(999).accept(chunks(300)[0]), /exceeds this member's limit of 999 bytes/);
  const c = chunks(300);
  const outOfOrder = new SnapshotAssembler(4096);
  outOfOrder.accept(c[0]);
  assert.throws(() => outOfOrder.accept(c[2]), /offset 600, expected 300/);
  const overlong = new SnapshotAssembler(4096);
  overlong.accept(c[0]);
  assert.throws(() => overlong.accept({ ...c[1], data: new Uint8Array(800) }), /past the declared 1000/);
  const short = new SnapshotAssembler(4096);
  short.accept(c[0]);
  assert.throws(() => short.finish(), /after 300 of 1000 bytes/);
  const corrupted = new SnapshotAssembler(4096);
  for (const x of c) corrupted.accept(x.offset === 300 ? { ...x, data: new Uint8Array(300) } : x);
  assert.throws(() => corrupted.finish(), /CRC-32 mismatch/);
  assert.throws(() => new SnapshotAssembler(4096).accept({ ...c[1] }), /first snapshot chunk must carry the snap message/);
  assert.throws(() => new SnapshotAssembler(4096).accept({ ...c[0], message: message({ type: 'app' }) }), /expected snap/);
});

test('a huge declared size costs only what arrives: memory grows with the bytes received', () => {
  const before = process.memoryUsage().arrayBuffers;
  const a = new SnapshotAssembler(2 * 1024 * 1024 * 1024);
  a.accept({ message: snap, totalBytes: 1024 * 1024 * 1024, crc32: 0, offset: 0, data: data.subarray(0, 10) });
  a.accept({ totalBytes: 1024 * 1024 * 1024, crc32: 0, offset: 10, data: data.subarray(10, 20) });
  const grew = process.memoryUsage().arrayBuffers - before;
  assert.ok(grew < 1024 * 1024, `declaring 1 GiB and sending 20 bytes allocated ${grew} bytes`);
  assert.throws(() => a.finish(), /ended after 20 of 1073741824 bytes/);
});
