// Behaviour of an open DiskStorage: segment rollover and naming, overwritten
// suffixes across segments, snapshots (local and installed) with cleanup of old
// segments and snapshot files, group commit, the data dir lock, and the rules
// save() enforces so that nothing a replay would reject is ever written.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DataDirLockedError, SnapshotCorruptError, StorageFailedError, StorageMisuseError } from './errors.ts';
import { isInitialized, openStorage, snapshotDue } from './index.ts';
import { parseSegmentFileName, parseSnapshotFileName } from './layout.ts';
import { writeSnapshotFile } from './snapshot-file.ts';
import { dirFingerprint, entries, entry, sameEntry, segments, snapDir, snapshotAt, tempDataDir } from './testing/helpers.ts';

const ids = { clusterId: 0x1234, memberId: 0x2 };

test('segments roll over at the size limit; names carry sequence and first index; all entries come back', async (t) => {
  const dir = tempDataDir(t);
  assert.equal(isInitialized(dir), false);
  const opts = { segmentBytes: 2048, preallocate: true };
  const { storage } = await openStorage(dir, ids, opts);
  assert.equal(isInitialized(dir), true);
  let next = 1;
  for (const n of [1, 16, 3, 40, 1, 1, 25, 7]) {
    await storage.save({ term: 1, vote: 2, commit: next - 1 }, entries(next, next + n - 1, 1), true);
    next += n;
  }
  await storage.close(); // a cut may still be under way when the last save resolves
  const files = storage.segmentFiles();
  assert.deepEqual(files, segments(dir));
  assert.ok(files.length >= 5, `${files.length} segments`);
  const names = files.map((f) => parseSegmentFileName(path.basename(f))!);
  names.forEach((n, k) => assert.equal(n.seq, k));
  assert.equal(names[0].firstIndex, 1);
  for (let k = 1; k < names.length; k++) assert.ok(names[k].firstIndex > names[k - 1].firstIndex);
  // Older segments were cut to their exact length; only the last keeps preallocated space.
  for (const f of files.slice(0, -1)) assert.ok(fs.statSync(f).size < 2048 + 40 * 320);
  assert.equal(fs.statSync(files.at(-1)!).size, 2048);
  const { storage: s2, state, warnings } = await openStorage(dir, ids, opts);
  await s2.close();
  assert.deepEqual(warnings, []);
  assert.equal(state.entries.length, next - 1);
  state.entries.forEach((e, k) => assert.ok(sameEntry(e, entry(k + 1, 1)), `entry ${k + 1}`));
  assert.deepEqual(state.hardState, { term: 1, vote: 2, commit: next - 1 - 7 });
});

test('a conflicting suffix rewritten by a new leader replaces the old one, across segments and restarts', async (t) => {
  const dir = tempDataDir(t);
  const opts = { segmentBytes: 2048, preallocate: false };
  let { storage } = await openStorage(dir, ids, opts);
  await storage.save({ term: 1, vote: 1, commit: 10 }, entries(1, 30, 1), true);
  await storage.close();
  ({ storage } = await openStorage(dir, ids, opts));
  await storage.save({ term: 2, vote: 0, commit: 10 }, entries(25, 27, 2), true);
  await storage.save(undefined, entries(28, 28, 2), true);
  await storage.close();
  const { storage: s3, state } = await openStorage(dir, ids, opts);
  await s3.close();
  const expected = [...entries(1, 24, 1), ...entries(25, 28, 2)];
  assert.equal(state.entries.length, expected.length);
  state.entries.forEach((e, k) => assert.ok(sameEntry(e, expected[k]), `entry ${k + 1}`));
});

test('snapshots: newest two kept, segments before the older one deleted, replay starts after the newest', async (t) => {
  const dir = tempDataDir(t);
  const opts = { segmentBytes: 2048, preallocate: false, keepSnapshots: 2 };
  const { storage } = await openStorage(dir, ids, opts);
  for (let i = 1; i <= 300; i++) {
    await storage.save({ term: 3, vote: 1, commit: i - 1 }, [entry(i, 3, 100)], i % 10 === 0);
    if (i === 100 || i === 200 || i === 250) await storage.saveSnapshot(snapshotAt(i - 1, 3));
  }
  assert.equal(storage.lastSnapshotIndex(), 249);
  await storage.close();
  const remaining = storage.segmentFiles().map((f) => parseSegmentFileName(path.basename(f))!);
  assert.deepEqual(fs.readdirSync(snapDir(dir)).map((n) => parseSnapshotFileName(n)!.index).sort((a, b) => a - b), [199, 249]);
  // Nothing before the older kept snapshot (199) is left but the segment that reaches it.
  assert.ok(remaining[0].seq > 0, 'old segments were deleted');
  assert.ok(remaining[0].firstIndex <= 200 && remaining[1].firstIndex > 200, JSON.stringify(remaining.slice(0, 2)));
  const r = await openStorage(dir, ids, opts);
  await r.storage.close();
  assert.deepEqual(r.warnings, []);
  assert.equal(r.state.snapshot?.metadata.index, 249);
  assert.deepEqual(Buffer.from(r.state.snapshot!.data), Buffer.from(snapshotAt(249, 3).data));
  assert.deepEqual(r.state.snapshot!.metadata.confState.voters, [1, 2, 3]);
  assert.deepEqual(r.state.entries.map((e) => e.index), Array.from({ length: 51 }, (_, k) => 250 + k));
  assert.equal(r.state.hardState.commit, 299);
});

test('an installed snapshot the log contradicts or lacks replaces the log', async (t) => {
  const dir = tempDataDir(t);
  const opts = { preallocate: false };
  let { storage } = await openStorage(dir, ids, opts);
  await storage.save({ term: 1, vote: 1, commit: 5 }, entries(1, 10, 1), true);
  // The leader of term 3 sends a snapshot at 8 (term 3): our 6..10 of term 1 are stale.
  await storage.saveSnapshot(snapshotAt(8, 3));
  await storage.save({ term: 3, vote: 0, commit: 8 }, [], true);
  await storage.close();
  let r = await openStorage(dir, ids, opts);
  assert.equal(r.state.snapshot?.metadata.index, 8);
  assert.deepEqual(r.state.entries, [], 'the stale suffix is gone');
  assert.deepEqual(r.state.hardState, { term: 3, vote: 0, commit: 8 });
  storage = r.storage;
  await assert.rejects(storage.save(undefined, [entry(8, 3)], true), /rewrite a committed entry/);
  await storage.save({ term: 3, vote: 0, commit: 9 }, entries(9, 12, 3), true);
  // A snapshot far ahead of the log (a lagging follower).
  await storage.saveSnapshot(snapshotAt(40, 4));
  await storage.save({ term: 4, vote: 0, commit: 40 }, entries(41, 42, 4), true);
  await storage.close();
  r = await openStorage(dir, ids, opts);
  await r.storage.close();
  assert.equal(r.state.snapshot?.metadata.index, 40);
  assert.deepEqual(r.state.entries.map((e) => [e.index, e.term]), [[41, 4], [42, 4]]);
});

test('a snapshot file the WAL never recorded (crash before its marker) is removed with a warning', async (t) => {
  const dir = tempDataDir(t);
  const { storage } = await openStorage(dir, ids, { preallocate: false });
  await storage.save({ term: 1, vote: 1, commit: 20 }, entries(1, 20, 1), true);
  await storage.saveSnapshot(snapshotAt(10, 1));
  await storage.close();
  const { file: orphan } = await writeSnapshotFile(snapDir(dir), ids, snapshotAt(18, 1));
  fs.writeFileSync(path.join(snapDir(dir), 'x.snap.tmp'), 'half written');
  const r = await openStorage(dir, ids, { preallocate: false });
  await r.storage.close();
  assert.equal(r.state.snapshot?.metadata.index, 10);
  assert.equal(r.state.entries[0].index, 11);
  assert.deepEqual(r.warnings, [`removing snapshot ${orphan}: the WAL never recorded it (a crash interrupted saving it)`]);
  assert.deepEqual(fs.readdirSync(snapDir(dir)), ['000000000000000a-0000000000000001.snap']);
});

test('group commit: many concurrent saves share a few writes and fsyncs, resolve in order, and are durable', async (t) => {
  const dir = tempDataDir(t);
  const { storage } = await openStorage(dir, ids, { segmentBytes: 1 << 20 });
  const resolved: number[] = [];
  const all: Promise<void>[] = [];
  for (let i = 1; i <= 200; i++) {
    all.push(storage.save({ term: 1, vote: 1, commit: Math.max(0, i - 2) }, [entry(i, 1)], true).then(() => void resolved.push(i)));
  }
  await Promise.all(all);
  const stats = storage.stats();
  await storage.close();
  assert.deepEqual(resolved, Array.from({ length: 200 }, (_, k) => k + 1), 'callers are acknowledged in order');
  assert.ok(stats.fsyncs <= 3 && stats.writes <= 3, `200 saves took ${stats.writes} writes and ${stats.fsyncs} fsyncs`);
  assert.equal(stats.saves, 200);
  const r = await openStorage(dir, ids);
  await r.storage.close();
  assert.equal(r.state.entries.length, 200);
  assert.equal(r.state.hardState.commit, 198);
});

test('an unsynced save is written but costs no fsync; a later synced save makes it durable', async (t) => {
  const dir = tempDataDir(t);
  const { storage } = await openStorage(dir, ids, { preallocate: false });
  await storage.save({ term: 1, vote: 1, commit: 0 }, [entry(1, 1)], false);
  assert.equal(storage.stats().fsyncs, 0);
  await storage.save(undefined, [], true); // a pure barrier
  assert.equal(storage.stats().fsyncs, 1);
  await storage.save(undefined, [], true); // nothing new: no fsync
  assert.equal(storage.stats().fsyncs, 1);
  await storage.close();
});

test('save refuses what raft never does, writing nothing', async (t) => {
  const dir = tempDataDir(t);
  const opts = { preallocate: false };
  const { storage } = await openStorage(dir, ids, opts);
  await storage.save({ term: 2, vote: 1, commit: 3 }, entries(1, 5, 2), true);
  const before = dirFingerprint(dir);
  const bad: [string, () => Promise<void>, RegExp][] = [
    ['gap', () => storage.save(undefined, [entry(7, 2)], true), /entry index 7 leaves a gap after last index 5/],
    ['not contiguous', () => storage.save(undefined, [entry(6, 2), entry(8, 2)], true), /not contiguous: 6 is followed by 8/],
    ['rewrite committed', () => storage.save(undefined, [entry(3, 2)], true), /entry index 3 would rewrite a committed entry \(commit 3\)/],
    ['term goes down', () => storage.save({ term: 1, vote: 1, commit: 3 }, [], true), /term 1 is below the saved term 2/],
    ['commit goes down', () => storage.save({ term: 2, vote: 1, commit: 2 }, [], true), /commit 2 is below the saved commit 3/],
    ['second vote', () => storage.save({ term: 2, vote: 3, commit: 3 }, [], true), /changes the vote in term 2 from 1 to 3/],
    ['entry term above hard state', () => storage.save(undefined, [entry(6, 3)], true), /entry 6 has term 3, above the hard state term 2/],
    ['entry term goes down', () => storage.save(undefined, [entry(6, 1)], true), /entry 6 has term 1, below the term 2 before it/],
    ['commit beyond log', () => storage.save({ term: 2, vote: 1, commit: 9 }, [], true), /commit 9 is beyond the last entry 5/],
    ['bad number', () => storage.save({ term: 2.5, vote: 1, commit: 3 }, [], true), /hard state term must be a non-negative safe integer/],
  ];
  const check = async ([name, call, message]: (typeof bad)[number]): Promise<void> => {
    await assert.rejects(call(), (err: unknown) => {
      assert.ok(err instanceof StorageMisuseError, `${name}: ${String(err)}`);
      assert.match(err.message, message, name);
      return true;
    });
  };
  for (const c of bad) await check(c);
  assert.equal(dirFingerprint(dir), before, 'nothing was written');
  await storage.save({ term: 2, vote: 1, commit: 5 }, [], true);
  await storage.saveSnapshot(snapshotAt(4, 2));
  await check(['old snapshot', () => storage.saveSnapshot(snapshotAt(3, 2)), /snapshot at index 3 is not newer than the saved snapshot at index 4/]);
  await check(['snapshot contradicting committed', () => storage.saveSnapshot(snapshotAt(5, 7)), /snapshot at index 5 term 7 contradicts the committed entry there \(term 2\)/]);
  await check(['bad snapshot', () => storage.saveSnapshot({ ...snapshotAt(6, 2), data: 'x' as unknown as Uint8Array }), /snapshot data must be a Uint8Array/]);
  // Only the good snapshot at 4 changed anything.
  assert.notEqual(dirFingerprint(dir), before);
  await storage.save({ term: 3, vote: 0, commit: 5 }, [entry(6, 3)], true); // and the storage still works
  await storage.close();
  await assert.rejects(storage.save(undefined, [], true), /save after close/);
  const r = await openStorage(dir, ids, opts);
  await r.storage.close();
  assert.equal(r.state.snapshot?.metadata.index, 4);
  assert.deepEqual(r.state.entries.map((e) => [e.index, e.term]), [[5, 2], [6, 3]]);
  assert.deepEqual(r.state.hardState, { term: 3, vote: 0, commit: 5 });
});

test('the data dir lock keeps a second opener out, in this process and in another; a dead holder is no obstacle', async (t) => {
  const dir = tempDataDir(t);
  const { storage } = await openStorage(dir, ids, { segmentBytes: 4096 });
  await assert.rejects(openStorage(dir, ids), (err: unknown) => {
    assert.ok(err instanceof DataDirLockedError);
    assert.match(err.message, /^data dir locked: .*member\/lock is held by this process \(pid \d+\), which already opened it; stop that process first/);
    return true;
  });
  await storage.close();
  // Another process holds it.
  const child = spawn(
    process.execPath,
    ['--input-type=module', '-e', `
      const { openStorage } = await import(${JSON.stringify(new URL('./index.ts', import.meta.url).href)});
      await openStorage(${JSON.stringify(dir)}, ${JSON.stringify(ids)}, { segmentBytes: 4096 });
      process.stdout.write('ready\\n');
      setInterval(() => {}, 1000);
    `],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`lock holder exited early with ${code}`)));
  });
  await assert.rejects(openStorage(dir, ids), new RegExp(`is held by process ${child.pid}`));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(child.pid!, 'SIGKILL');
  await exited;
  // kill -9 left the lock file behind; its pid is dead, so it is stale.
  assert.ok(fs.existsSync(path.join(dir, 'member', 'lock')));
  const again = await openStorage(dir, ids, { segmentBytes: 4096 });
  await again.storage.close();
  assert.equal(fs.existsSync(path.join(dir, 'member', 'lock')), false, 'close removes the lock file');
});

test('snapshotDue follows the "snapshot every N entries" flag', () => {
  assert.equal(snapshotDue(10_000, 0, 10_000), true);
  assert.equal(snapshotDue(19_999, 10_000, 10_000), false);
  assert.equal(snapshotDue(1_000_000, 0, 0), false, '0 disables snapshots');
});

test('openStorage rejects bad options and ids before touching the disk', async (t) => {
  const dir = tempDataDir(t);
  await assert.rejects(openStorage(dir, { clusterId: -1, memberId: 1 }), /cluster id must be a non-negative safe integer/);
  await assert.rejects(openStorage(dir, ids, { segmentBytes: 10 }), /segmentBytes must be an integer >= 1024/);
  await assert.rejects(openStorage(dir, ids, { keepSnapshots: 0 }), /keepSnapshots must be an integer >= 1/);
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('a failed write or fsync makes the storage refuse every later save; what was acknowledged survives', async (t) => {
  const dir = tempDataDir(t);
  const { storage } = await openStorage(dir, ids, { preallocate: false });
  await storage.save({ term: 1, vote: 1, commit: 0 }, entries(1, 3, 1), true);
  // Pull the file out from under the writer (white-box: its open segment handles, plain and O_DSYNC).
  type Handle = { close(): Promise<void> };
  const writer = (storage as unknown as { writer: { current: { fh: Handle; dsync: Handle | undefined } } }).writer;
  await writer.current.fh.close();
  await writer.current.dsync?.close();
  const failed = storage.save(undefined, [entry(4, 1)], true);
  const queuedBehind = storage.save(undefined, [entry(5, 1)], true);
  await assert.rejects(failed, (err: unknown) => err instanceof StorageFailedError && /restart the member/.test(err.message));
  await assert.rejects(queuedBehind, StorageFailedError);
  await assert.rejects(storage.save(undefined, [entry(6, 1)], true), StorageFailedError);
  await assert.rejects(storage.saveSnapshot(snapshotAt(2, 1)), StorageFailedError);
  await storage.close();
  const r = await openStorage(dir, ids, { preallocate: false });
  await r.storage.close();
  assert.deepEqual(r.state.entries.map((e) => e.index), [1, 2, 3]);
});

test('readSnapshot reads back a kept snapshot byte for byte, refuses one no longer kept, and names a corrupt file', async (t) => {
  const dir = tempDataDir(t);
  const { storage } = await openStorage(dir, ids, { segmentBytes: 2048, preallocate: false, keepSnapshots: 2 });
  t.after(() => storage.close());
  await storage.save({ term: 1, vote: 2, commit: 30 }, entries(1, 30, 1), true);
  for (const at of [10, 20, 30]) await storage.saveSnapshot(snapshotAt(at, 1, 4096));
  for (const at of [20, 30]) {
    const back = storage.readSnapshot({ index: at, term: 1 });
    assert.deepEqual(back.metadata, snapshotAt(at, 1, 4096).metadata);
    assert.deepEqual(Buffer.from(back.data), Buffer.from(snapshotAt(at, 1, 4096).data));
  }
  assert.throws(() => storage.readSnapshot({ index: 10, term: 1 }), (e: Error) => e instanceof StorageMisuseError && /index 10 term 1 is kept \(kept: 20, 30\)/.test(e.message));
  assert.throws(() => storage.readSnapshot({ index: 30, term: 2 }), StorageMisuseError);
  const file = path.join(snapDir(dir), fs.readdirSync(snapDir(dir)).find((f) => parseSnapshotFileName(f)?.index === 30)!);
  const bytes = fs.readFileSync(file);
  bytes[bytes.length - 100] ^= 0xff;
  fs.writeFileSync(file, bytes);
  assert.throws(() => storage.readSnapshot({ index: 30, term: 1 }), (e: Error) => e instanceof SnapshotCorruptError && e.message.includes(file));
});
