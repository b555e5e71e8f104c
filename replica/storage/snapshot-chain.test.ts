// Delta snapshot files and their chains in DiskStorage: a delta of the newest
// snapshot reads back (and recovers) as its chain's data merged; the files a
// kept snapshot's chain needs are never deleted, and go once nothing needs
// them; a damaged or replaced file down a chain is found out, and a data dir
// with delta files opened without a merge is refused untouched.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { DiskStorage } from './disk-storage.ts';
import { SnapshotCorruptError, StorageMisuseError } from './errors.ts';
import { openStorage } from './index.ts';
import { snapshotFileName } from './layout.ts';
import { readSnapshotFileHead, writeSnapshotFile } from './snapshot-file.ts';
import { dirFingerprint, entries, flipByte, snapDir, snapshotAt, tempDataDir } from './testing/helpers.ts';

const ids = { clusterId: 0x77, memberId: 0x3 };

/** The toy data format: a delta is "D" and bytes appended to what it extends; a merge checks the markers and appends. */
function merge(base: Uint8Array, deltas: Uint8Array[]): Uint8Array {
  if (deltas.some((d) => d[0] !== 0x44)) throw new Error('not a delta');
  return Buffer.concat([base, ...deltas.map((d) => d.subarray(1))]);
}

function deltaData(text: string): Uint8Array {
  return Buffer.from(`D${text}`, 'latin1');
}

async function saveDelta(storage: DiskStorage, index: number, extend: number, text: string): Promise<void> {
  const data = deltaData(text);
  const f = await storage.beginSnapshotFile(snapshotAt(index, 1).metadata, { min: 0, max: 127 }, { index: extend, term: 1 });
  await f.append(data);
  await f.finish();
  await storage.commitSnapshotFile(f);
}

function files(dir: string): number[] {
  return fs
    .readdirSync(snapDir(dir))
    .map((n) => parseInt(n.slice(0, 16), 16))
    .sort((a, b) => a - b);
}

test('deltas of the newest snapshot read back and recover as the chain merged; the chain\'s files stay until nothing needs them', async (t) => {
  const dir = tempDataDir(t);
  const opts = { preallocate: false, mergeSnapshotData: merge, segmentBytes: 4096 };
  const { storage } = await openStorage(dir, ids, opts);
  await storage.save({ term: 1, vote: 1, commit: 60 }, entries(1, 60, 1), true);
  const root = snapshotAt(10, 1, 50);
  await storage.saveSnapshot(root);
  assert.equal(storage.canExtend({ index: 10, term: 1 }), true);
  assert.equal(storage.canExtend({ index: 10, term: 2 }), false);
  await saveDelta(storage, 20, 10, 'one');
  assert.equal(storage.canExtend({ index: 10, term: 1 }), false, 'only the newest can be extended');
  await assert.rejects(storage.beginSnapshotFile(snapshotAt(30, 1).metadata, { min: 0, max: 127 }, { index: 10, term: 1 }), StorageMisuseError);
  await saveDelta(storage, 30, 20, 'two');
  const expected = Buffer.concat([root.data, Buffer.from('onetwo', 'latin1')]);
  assert.ok(Buffer.from(storage.readSnapshot({ index: 30, term: 1 }).data).equals(expected));
  const read = await storage.readSnapshotAsync({ index: 30, term: 1 });
  assert.ok(Buffer.from(read.data).equals(expected), 'read off the loop: the same data');
  assert.deepEqual(read.metadata, storage.readSnapshot({ index: 30, term: 1 }).metadata);
  await assert.rejects(storage.readSnapshotAsync({ index: 10, term: 1 }), StorageMisuseError);
  assert.ok(Buffer.from(storage.readSnapshot({ index: 20, term: 1 }).data).equals(Buffer.concat([root.data, Buffer.from('one')])));
  // Two kept (20 and 30); 10 is no snapshot to restart from any more but their chain needs it.
  assert.deepEqual(files(dir), [10, 20, 30]);
  assert.throws(() => storage.readSnapshot({ index: 10, term: 1 }), StorageMisuseError);
  assert.deepEqual(readSnapshotFileHead(path.join(snapDir(dir), snapshotFileName({ index: 30, term: 1 })), ids).extends?.index, 20);
  await storage.close();

  const r = await openStorage(dir, ids, opts);
  assert.deepEqual(r.warnings, []);
  assert.equal(r.state.snapshot?.metadata.index, 30);
  assert.ok(Buffer.from(r.state.snapshot!.data).equals(expected));
  assert.deepEqual(files(dir), [10, 20, 30], 'recovery keeps what the chain needs');
  // A whole snapshot: the old chain is still needed by 30, kept; the next one frees it.
  await r.storage.saveSnapshot(snapshotAt(40, 1, 20));
  assert.deepEqual(files(dir), [10, 20, 30, 40]);
  await saveDelta(r.storage, 50, 40, 'three');
  assert.deepEqual(files(dir), [40, 50]);
  assert.ok(Buffer.from(r.storage.readSnapshot({ index: 50, term: 1 }).data).equals(Buffer.concat([snapshotAt(40, 1, 20).data, Buffer.from('three')])));
  // A chain file damaged under an open storage: reading the snapshot back (for a follower) names it, either way.
  const whole40 = path.join(snapDir(dir), snapshotFileName({ index: 40, term: 1 }));
  flipByte(whole40, 30);
  assert.throws(() => r.storage.readSnapshot({ index: 50, term: 1 }), (e: Error) => e instanceof SnapshotCorruptError && e.message.includes(whole40));
  await assert.rejects(r.storage.readSnapshotAsync({ index: 50, term: 1 }), (e: Error) => e instanceof SnapshotCorruptError && e.message.includes(whole40));
  await r.storage.close();
});

test('reading a chain back off the loop merges through mergeSnapshotDataInSlices when given, and names the tip when it refuses', async (t) => {
  const dir = tempDataDir(t);
  const calls: string[] = [];
  const mergeInSlices = async (base: Uint8Array, deltas: Uint8Array[]): Promise<Uint8Array> => {
    calls.push(`${deltas.length}`);
    await new Promise((resolve) => setImmediate(resolve));
    return merge(base, deltas);
  };
  const opts = { preallocate: false, mergeSnapshotData: merge, mergeSnapshotDataInSlices: mergeInSlices, segmentBytes: 4096 };
  const { storage } = await openStorage(dir, ids, opts);
  await storage.save({ term: 1, vote: 1, commit: 40 }, entries(1, 40, 1), true);
  const root = snapshotAt(10, 1, 50);
  await storage.saveSnapshot(root);
  await saveDelta(storage, 20, 10, 'one');
  await saveDelta(storage, 30, 20, 'two');
  const read = await storage.readSnapshotAsync({ index: 30, term: 1 });
  assert.ok(Buffer.from(read.data).equals(Buffer.concat([root.data, Buffer.from('onetwo', 'latin1')])));
  assert.deepEqual(calls, ['2'], 'one call with both deltas, oldest first');
  assert.equal(storage.readSnapshot({ index: 30, term: 1 }).data.length, read.data.length, 'the synchronous read merges at once');
  assert.deepEqual(calls, ['2']);
  await storage.close();
  const refusing = { ...opts, mergeSnapshotDataInSlices: () => Promise.reject(new Error('no')) };
  const r = await openStorage(dir, ids, refusing);
  const tip = path.join(snapDir(dir), snapshotFileName({ index: 30, term: 1 }));
  await assert.rejects(r.storage.readSnapshotAsync({ index: 30, term: 1 }), (e: Error) => e instanceof SnapshotCorruptError && e.message.includes(tip) && /does not fit together \(no\)/.test(e.message));
  await r.storage.close();
});

test('a data dir with delta files opened without a merge is refused and left as it was; no delta is begun without one', async (t) => {
  const dir = tempDataDir(t);
  const { storage } = await openStorage(dir, ids, { preallocate: false, mergeSnapshotData: merge });
  await storage.save({ term: 1, vote: 1, commit: 30 }, entries(1, 30, 1), true);
  await storage.saveSnapshot(snapshotAt(10, 1));
  await saveDelta(storage, 20, 10, 'x');
  await storage.close();
  const before = dirFingerprint(dir);
  await assert.rejects(openStorage(dir, ids, { preallocate: false }), (e: Error) => e instanceof StorageMisuseError && /without a way to merge/.test(e.message));
  assert.equal(dirFingerprint(dir), before);

  const other = tempDataDir(t);
  const plain = (await openStorage(other, ids, { preallocate: false })).storage;
  await plain.save({ term: 1, vote: 1, commit: 30 }, entries(1, 30, 1), true);
  await plain.saveSnapshot(snapshotAt(10, 1));
  assert.equal(plain.canExtend({ index: 10, term: 1 }), false);
  await assert.rejects(plain.beginSnapshotFile(snapshotAt(20, 1).metadata, { min: 0, max: 127 }, { index: 10, term: 1 }), StorageMisuseError);
  await plain.close();
});

test('a damaged or replaced file down a chain is found out: recovery refuses rather than start from a wrong state', async (t) => {
  for (const damage of ['flip', 'replace', 'remove', 'refused'] as const) {
    const dir = tempDataDir(t);
    // Small segments: the WAL before the kept snapshots is gone, so only the chain can give the state.
    const opts = { preallocate: false, mergeSnapshotData: merge, segmentBytes: 2048 };
    const { storage } = await openStorage(dir, ids, opts);
    for (let i = 1; i <= 40; i += 5) await storage.save({ term: 1, vote: 1, commit: i + 4 }, entries(i, i + 4, 1), true);
    await storage.saveSnapshot(snapshotAt(10, 1));
    await saveDelta(storage, 20, 10, 'a');
    await saveDelta(storage, 30, 20, 'b');
    await storage.close();
    const rootFile = path.join(snapDir(dir), snapshotFileName({ index: 10, term: 1 }));
    if (damage === 'flip') flipByte(rootFile, 40);
    if (damage === 'replace') {
      fs.rmSync(rootFile);
      await writeSnapshotFile(snapDir(dir), ids, snapshotAt(10, 1, 65));
    }
    if (damage === 'remove') fs.rmSync(rootFile);
    const before = dirFingerprint(dir);
    const refusing = damage === 'refused' ? { ...opts, mergeSnapshotData: () => { throw new Error('no'); } } : opts;
    await assert.rejects(openStorage(dir, ids, refusing), (e: Error) => {
      assert.ok(e instanceof SnapshotCorruptError, `${damage}: ${e.message}`);
      const why = { flip: /checksum mismatch/, replace: /is not the file the delta .* extends/, remove: /whose file is missing/, refused: /does not fit together/ }[damage];
      assert.match(e.message, why, damage);
      return true;
    });
    assert.equal(dirFingerprint(dir), before, `${damage}: a refusal changes nothing`);
  }
});
