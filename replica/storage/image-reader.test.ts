// SnapshotImageReader (image-reader.ts): an own snapshot encoded with the
// image before it in a file as its base is the bytes of one encoded from the
// store alone, however the reads fall on its blocks; a file damaged since is
// found out (the encoder starts over without it); a file removed while open
// still reads; a file short of the image is refused at open.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SnapshotImageReader } from './image-reader.ts';
import { SnapshotBaseError, type SnapshotEncoder } from '../kv/index.ts';
import { Driver } from '../kv/testing.ts';

function tempDir(t: { after: (f: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-image-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** drain streams an encoder to the end; a SnapshotBaseError drops the base and starts over (as a member does). */
function drain(encoder: SnapshotEncoder): { image: Buffer; dropped: number } {
  let parts: Buffer[] = [];
  let dropped = 0;
  for (;;) {
    try {
      const complete = encoder.step(3);
      const chunk = encoder.takeChunk();
      if (chunk) parts.push(Buffer.from(chunk));
      if (complete && encoder.done) break;
    } catch (e) {
      if (!(e instanceof SnapshotBaseError)) throw e;
      encoder.dropBase();
      parts = [];
      dropped++;
    }
  }
  encoder.close();
  return { image: Buffer.concat(parts), dropped };
}

/** fill puts `n` values over `keys` keys, of lengths that straddle the reads' blocks. */
function fill(d: Driver, n: number, keys: number, tag: string): void {
  for (let i = 0; i < n; i++) d.put(`k${(i * 7) % keys}`, `${tag}-${i}-`.padEnd(10 + ((i * 13) % 90), '~'));
}

/** writeImageFile writes `image` between a head and a tail of other bytes, as a snapshot file holds it; returns its offset. */
function writeImageFile(file: string, image: Buffer): number {
  const head = Buffer.alloc(37, 0xaa);
  fs.writeFileSync(file, Buffer.concat([head, image, Buffer.alloc(4, 0xbb)]));
  return head.length;
}

test('an image copied from the last one in its file, read a small block at a time, is the bytes of the store\'s own', (t) => {
  const dir = tempDir(t);
  const d = new Driver();
  fill(d, 300, 40, 'a');
  const first = d.store.streamSnapshot(96);
  const one = drain(first).image;
  let base = { layout: first.layout!, file: path.join(dir, 'one.snap'), offset: 0 };
  base.offset = writeImageFile(base.file, one);
  for (const round of ['b', 'c', 'd']) {
    fill(d, 100, 60, round);
    // Chunks smaller than some keys' histories: keys are written again into a fresh chunk (reads go back).
    const encoder = d.store.streamSnapshot(64, { layout: base.layout, reader: SnapshotImageReader.open(base.file, base.offset, base.layout.imageBytes, 48) });
    assert.equal(encoder.usesBase, true);
    const { image, dropped } = drain(encoder);
    assert.equal(dropped, 0);
    assert.ok(image.equals(Buffer.from(d.store.snapshot())), `round ${round}: the image differs from snapshot()`);
    const file = path.join(dir, `${round}.snap`);
    base = { layout: encoder.layout!, file, offset: writeImageFile(file, image) };
  }
});

test('a damaged file is found out and the image encoded from the store; a removed one still reads; a short one is refused', (t) => {
  const dir = tempDir(t);
  const d = new Driver();
  fill(d, 200, 30, 'a');
  const first = d.store.streamSnapshot(1 << 16);
  const one = drain(first).image;
  const file = path.join(dir, 'one.snap');
  const offset = writeImageFile(file, one);
  fill(d, 50, 30, 'b');

  // One byte of a value flipped on disk since.
  const damaged = path.join(dir, 'damaged.snap');
  const bytes = fs.readFileSync(file);
  bytes[offset + Math.floor(one.length * 0.6)] ^= 0x01;
  fs.writeFileSync(damaged, bytes);
  const fromDamaged = drain(d.store.streamSnapshot(1 << 16, { layout: first.layout!, reader: SnapshotImageReader.open(damaged, offset, one.length, 100) }));
  assert.equal(fromDamaged.dropped, 1, 'the damage is found and the base dropped');
  const expected = Buffer.from(d.store.snapshot());
  assert.ok(fromDamaged.image.equals(expected));

  // Removed (purged) after it was opened: the open file still reads.
  const reader = SnapshotImageReader.open(file, offset, one.length);
  fs.rmSync(file);
  const fromRemoved = drain(d.store.streamSnapshot(1 << 16, { layout: first.layout!, reader }));
  assert.equal(fromRemoved.dropped, 0);
  assert.ok(fromRemoved.image.equals(expected));

  fs.writeFileSync(file, one.subarray(0, one.length - 1));
  assert.throws(() => SnapshotImageReader.open(file, 0, one.length), /short of the image's end/);
  assert.throws(() => SnapshotImageReader.open(path.join(dir, 'gone.snap'), 0, one.length), /ENOENT/);
});
