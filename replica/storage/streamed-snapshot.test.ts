// Snapshots streamed into their file (StreamedSnapshotFile, DiskStorage's
// beginSnapshotFile + commitSnapshotFile): the file is byte for byte the one
// writeSnapshotFile writes from memory, nothing changes before the commit, a
// data length the head cannot hold is refused without leaving a file, and a
// file never committed is gone after a restart.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { StorageMisuseError } from './errors.ts';
import { openStorage } from './index.ts';
import { DataLengthMismatchError, StreamedSnapshotFile, writeSnapshotFile } from './snapshot-file.ts';
import { entries, snapDir, snapshotAt, tempDataDir } from './testing/helpers.ts';
import type { Snapshot } from '../raft/types.ts';

const ids = { clusterId: 0x1234, memberId: 0x2 };

async function stream(f: StreamedSnapshotFile, data: Uint8Array, part: number): Promise<void> {
  for (let at = 0; at < data.length; at += part) await f.append(data.subarray(at, at + part));
}

test('a streamed snapshot file is byte for byte the file written from memory, for any parts and any length range', async (t) => {
  const dir = tempDataDir(t, 'snapstream');
  const wholeDir = path.join(dir, 'whole');
  const streamDir = path.join(dir, 'stream');
  fs.mkdirSync(wholeDir);
  fs.mkdirSync(streamDir);
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 1, max: 5000 }), fc.nat(), fc.nat(), async (size, part, below, above) => {
      const snap = snapshotAt(7, 3, size);
      const expected = fs.readFileSync((await writeSnapshotFile(wholeDir, ids, snap)).file);
      // A range around the length whose bounds take as many varint bytes as it.
      const lo = size < 128 ? 0 : size < 16384 ? 128 : 16384;
      const hi = size < 128 ? 127 : size < 16384 ? 16383 : 2_097_151;
      const range = { min: Math.max(lo, size - (below % 3000)), max: Math.min(hi, size + (above % 3000)) };
      const f = await StreamedSnapshotFile.create(streamDir, ids, snap.metadata, range);
      await stream(f, snap.data, part);
      assert.equal(f.bytes, size);
      await f.finish();
      assert.equal(f.finished, true);
      assert.ok(fs.readFileSync(f.tmp).equals(expected), `size ${size}, parts of ${part}, range [${range.min}, ${range.max}]`);
      fs.rmSync(f.tmp);
    }),
    { numRuns: 60 },
  );
});

test('a length range the head cannot hold is refused; data of a length outside it removes the file', async (t) => {
  const dir = tempDataDir(t, 'snapstream');
  const meta = snapshotAt(9, 2).metadata;
  await assert.rejects(StreamedSnapshotFile.create(dir, ids, meta, { min: 100, max: 200 }), /bounds of one varint size/);
  await assert.rejects(StreamedSnapshotFile.create(dir, ids, meta, { min: 90, max: 80 }), /must be ordered/);
  const f = await StreamedSnapshotFile.create(dir, ids, meta, { min: 128, max: 1000 });
  await stream(f, new Uint8Array(100).fill(7), 30);
  await assert.rejects(f.finish(), DataLengthMismatchError);
  assert.deepEqual(fs.readdirSync(dir), [], 'the temp file is removed');
  await assert.rejects(f.append(new Uint8Array(1)), /is aborted/);
  // Outside the range but of the same varint size: the head still fits, the file is good.
  const g = await StreamedSnapshotFile.create(dir, ids, meta, { min: 128, max: 1000 });
  await stream(g, new Uint8Array(5000).fill(1), 4096);
  await g.finish();
  const wholeDir = path.join(dir, 'whole');
  fs.mkdirSync(wholeDir);
  const whole = fs.readFileSync((await writeSnapshotFile(wholeDir, ids, { metadata: meta, data: new Uint8Array(5000).fill(1) })).file);
  assert.ok(fs.readFileSync(g.tmp).equals(whole));
});

test('a streamed snapshot is the storage\'s only once committed; recovery reads it back like a saved one', async (t) => {
  const dir = tempDataDir(t);
  const { storage } = await openStorage(dir, ids, { segmentBytes: 4096 });
  await storage.save({ term: 1, vote: 1, commit: 40 }, entries(1, 40, 1), true);
  const snap = snapshotAt(30, 1, 3000);
  const f = await storage.beginSnapshotFile(snap.metadata, { min: 2000, max: 4000 });
  await stream(f, snap.data, 700);
  await f.finish();
  assert.equal(storage.lastSnapshotIndex(), 0, 'nothing changes before the commit');
  assert.deepEqual(fs.readdirSync(snapDir(dir)), [path.basename(f.tmp)]);
  await storage.commitSnapshotFile(f);
  assert.equal(storage.lastSnapshotIndex(), 30);
  assert.deepEqual(fs.readdirSync(snapDir(dir)), [path.basename(f.file)]);
  assert.ok(Buffer.from(storage.readSnapshot(snap.metadata).data).equals(Buffer.from(snap.data)));
  await storage.close();
  const reopened = await openStorage(dir, ids, { segmentBytes: 4096 });
  await reopened.storage.close();
  assert.equal(reopened.storage.lastSnapshotIndex(), 30);
  const recovered = reopened.state.snapshot as Snapshot;
  assert.equal(recovered.metadata.index, 30);
  assert.ok(Buffer.from(recovered.data).equals(Buffer.from(snap.data)));
});

test('a streamed snapshot overtaken before its commit is refused and removed; one never committed is gone after a restart', async (t) => {
  const dir = tempDataDir(t);
  let { storage } = await openStorage(dir, ids, { segmentBytes: 4096 });
  await storage.save({ term: 2, vote: 1, commit: 50 }, entries(1, 50, 2), true);
  const own = snapshotAt(20, 2, 500);
  const f = await storage.beginSnapshotFile(own.metadata, { min: 500, max: 500 });
  await stream(f, own.data, 100);
  await f.finish();
  // A newer snapshot saved meanwhile (one installed from the leader, say).
  await storage.saveSnapshot(snapshotAt(45, 2));
  await assert.rejects(storage.commitSnapshotFile(f), StorageMisuseError);
  assert.equal(storage.lastSnapshotIndex(), 45);
  assert.ok(!fs.existsSync(f.tmp) && !fs.existsSync(f.file), 'the overtaken file is removed');
  await assert.rejects(storage.beginSnapshotFile(snapshotAt(40, 2).metadata, { min: 1, max: 100 }), /not newer than the saved snapshot at index 45/);
  // Started, finished, never committed: a crash here leaves only a temp file, which the next open removes.
  const g = await storage.beginSnapshotFile(snapshotAt(48, 2).metadata, { min: 64, max: 64 });
  await stream(g, snapshotAt(48, 2).data, 64);
  await g.finish();
  const unfinished = await storage.beginSnapshotFile(snapshotAt(49, 2).metadata, { min: 64, max: 64 });
  await unfinished.append(new Uint8Array(10));
  await assert.rejects(storage.commitSnapshotFile(unfinished), /is not finished/);
  assert.ok(!fs.existsSync(unfinished.tmp), 'an unfinished file offered for commit is removed');
  await storage.close();
  ({ storage } = await openStorage(dir, ids, { segmentBytes: 4096 }));
  await storage.close();
  assert.equal(storage.lastSnapshotIndex(), 45);
  assert.deepEqual(fs.readdirSync(snapDir(dir)).filter((n) => n.endsWith('.tmp')), []);
});
