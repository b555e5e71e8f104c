// Recovery from damaged WALs: a torn last record (at every byte offset, and as
// unwritten sectors in preallocated space) is truncated with a warning; a flipped
// byte anywhere else refuses to start with the file and offset, and leaves the
// data dir untouched; structural damage (gaps, missing segments, lost commits) is
// refused; random damage never produces anything but our own errors.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DataDirMismatchError, SnapshotCorruptError, WalCorruptError } from './errors.ts';
import { SECTOR_BYTES } from './frame.ts';
import { openStorage } from './index.ts';
import { encodeRecord } from './records.ts';
import type { StorageOptions } from './types.ts';
import {
  dirFingerprint,
  entries,
  entry,
  flipByte,
  recordSpans,
  sameEntry,
  segments,
  snapshotAt,
  tempDataDir,
  zeroFrom,
} from './testing/helpers.ts';

const ids = { clusterId: 0x51, memberId: 0x7 };

/** writeLog saves entries 1..n one batch each with a hard state, then one more entry without. */
async function writeLog(dir: string, n: number, opts: StorageOptions): Promise<void> {
  const { storage } = await openStorage(dir, ids, opts);
  for (let i = 1; i <= n; i++) await storage.save({ term: 1, vote: 1, commit: i - 1 }, [entry(i, 1)], true);
  await storage.save(undefined, [entry(n + 1, 1)], true);
  await storage.close();
}

test('a last record torn at every byte offset is truncated with a warning, and the log goes on', async (t) => {
  const dir = tempDataDir(t);
  const opts = { preallocate: false, segmentBytes: 1 << 20 };
  await writeLog(dir, 4, opts);
  const [seg] = segments(dir);
  const original = fs.readFileSync(seg);
  const last = recordSpans(seg).at(-1)!;
  assert.equal(last.offset + last.length, original.length);
  for (let cut = last.offset; cut < original.length; cut++) {
    fs.writeFileSync(seg, original.subarray(0, cut));
    const { storage, state, warnings } = await openStorage(dir, ids, opts);
    try {
      assert.deepEqual(state.entries.map((e) => e.index), [1, 2, 3, 4], `cut at ${cut}`);
      assert.equal(state.hardState.commit, 3);
      if (cut === last.offset) assert.deepEqual(warnings, [], 'a cut at a record boundary is a clean end');
      else {
        assert.equal(warnings.length, 1);
        assert.match(warnings[0], new RegExp(`truncated torn record at ${seg} offset ${last.offset} \\(${cut - last.offset} bytes dropped`));
      }
      assert.equal(fs.statSync(seg).size, last.offset, 'the torn bytes are gone from disk');
      // The log continues where the good data ended (checked at a spread of cuts).
      if ((cut - last.offset) % 37 === 0 || cut === original.length - 1) await storage.save(undefined, [entry(5, 1)], true);
      else continue;
    } finally {
      await storage.close();
    }
    const again = await openStorage(dir, ids, opts);
    assert.deepEqual(again.warnings, []);
    assert.ok(sameEntry(again.state.entries[4], entry(5, 1)));
    await again.storage.close();
  }
});

test('a write torn at sector granularity in preallocated space is truncated with a warning', async (t) => {
  const dir = tempDataDir(t);
  const opts = { preallocate: true, segmentBytes: 1 << 16 };
  // Large entries so the last batch spans several sectors.
  const { storage } = await openStorage(dir, ids, opts);
  await storage.save({ term: 1, vote: 1, commit: 0 }, entries(1, 3, 1, 700), true);
  await storage.save({ term: 1, vote: 1, commit: 3 }, entries(4, 6, 1, 700), true);
  await storage.close();
  const [seg] = segments(dir);
  const original = fs.readFileSync(seg);
  assert.equal(original.length, 1 << 16, 'segment is preallocated');
  const spans = recordSpans(seg);
  // metadata, hard state, entries 1-3, hard state, entries 4-6, hard state
  assert.equal(spans.length, 10);
  const batch2 = spans[6].offset;
  const batchEnd = spans[9].offset + spans[9].length;
  const starts = [batch2];
  for (let s = Math.ceil(batch2 / SECTOR_BYTES) * SECTOR_BYTES; s < batchEnd; s += SECTOR_BYTES) starts.push(s);
  let torn = 0;
  for (const from of starts) {
    // The hole runs to the end, or a later sector of the batch was written after all.
    const lastSector = Math.floor((batchEnd - 1) / SECTOR_BYTES) * SECTOR_BYTES;
    for (const holeEnd of [original.length, lastSector]) {
      if (holeEnd <= from) continue;
      fs.writeFileSync(seg, original);
      zeroFrom(seg, from, holeEnd);
      const { storage: s2, state, warnings } = await openStorage(dir, ids, opts);
      await s2.close();
      // Exactly the entries whose records lie wholly before the hole survive.
      const expected = [1, 2, 3, ...[4, 5, 6].filter((i) => spans[2 + i].offset + spans[2 + i].length <= from)];
      assert.deepEqual(state.entries.map((e) => e.index), expected, `hole ${from}..${holeEnd}`);
      for (const e of state.entries) assert.ok(sameEntry(e, entry(e.index, 1, 700)));
      const clean = holeEnd === original.length && spans.some((sp) => sp.offset === from);
      if (clean) assert.deepEqual(warnings, [], 'only zeros after the last record is a clean end');
      else {
        torn++;
        assert.equal(warnings.length, 1);
        assert.match(warnings[0], new RegExp(`truncated torn record at ${seg} offset \\d+ \\(\\d+ bytes dropped: record (header )?partly unwritten\\)`));
      }
    }
  }
  assert.ok(torn >= 6, `${torn} torn cases`);
});

test('a flipped byte in any middle record refuses to start, naming file and offset, changing nothing', async (t) => {
  const dir = tempDataDir(t);
  const opts = { preallocate: false, segmentBytes: 1 << 20 };
  await writeLog(dir, 6, opts);
  const [seg] = segments(dir);
  const spans = recordSpans(seg);
  // metadata, hard state, then (entry, hard state) x 6, entry: take entry 3
  const middle = spans[6];
  assert.ok(middle.length > 300);
  const original = fs.readFileSync(seg);
  for (let i = middle.offset; i < middle.offset + middle.length; i++) {
    fs.writeFileSync(seg, original);
    flipByte(seg, i);
    const before = dirFingerprint(dir);
    await assert.rejects(openStorage(dir, ids, opts), (err: unknown) => {
      assert.ok(err instanceof WalCorruptError, String(err));
      assert.equal(err.file, seg);
      assert.equal(err.offset, middle.offset, `flip at ${i}`);
      assert.match(err.message, new RegExp(`^wal corrupt: ${seg} offset ${middle.offset}: record (header )?checksum mismatch; refusing to start`));
      assert.doesNotMatch(err.message, /\n/);
      return true;
    });
    assert.equal(dirFingerprint(dir), before, 'a refused open changes nothing');
  }
  fs.writeFileSync(seg, original);
  const { storage, state } = await openStorage(dir, ids, opts); // and the lock was released each time
  assert.equal(state.entries.length, 7);
  await storage.close();
});

test('damage in an older segment is corruption even at its end', async (t) => {
  const dir = tempDataDir(t);
  const opts = { preallocate: false, segmentBytes: 2048 };
  const { storage } = await openStorage(dir, ids, opts);
  for (let i = 1; i <= 30; i++) await storage.save({ term: 1, vote: 1, commit: i - 1 }, [entry(i, 1)], true);
  await storage.close();
  const segs = segments(dir);
  assert.ok(segs.length >= 3, `rolled over into ${segs.length} segments`);
  const older = segs[1];
  const original = fs.readFileSync(older);
  const lastSpan = recordSpans(older).at(-1)!;
  fs.writeFileSync(older, original.subarray(0, original.length - 5));
  await assert.rejects(openStorage(dir, ids, opts), (err: unknown) => err instanceof WalCorruptError && err.file === older && err.offset === lastSpan.offset);
  fs.writeFileSync(older, original);
  flipByte(older, original.length - 1);
  await assert.rejects(openStorage(dir, ids, opts), (err: unknown) => err instanceof WalCorruptError && err.file === older && err.offset === lastSpan.offset);
  fs.writeFileSync(older, original);
  fs.rmSync(segs[1]);
  await assert.rejects(openStorage(dir, ids, opts), /wal corrupt: .*0000000000000002-.*\.wal offset 0: segment sequence jumps from 0 to 2: a segment is missing/);
});

/** appendRaw adds hand-made records to the end of the (unpreallocated) last segment. */
function appendRaw(dir: string, ...records: Parameters<typeof encodeRecord>[0][]): { file: string; offset: number } {
  const file = segments(dir).at(-1)!;
  const offset = fs.statSync(file).size;
  fs.appendFileSync(file, Buffer.concat(records.map(encodeRecord)));
  return { file, offset };
}

test('structural damage is refused: gaps, lost committed entries, rewrites of committed entries', async (t) => {
  const opts = { preallocate: false };
  const cases: { name: string; records: Parameters<typeof encodeRecord>[0][]; error: RegExp }[] = [
    { name: 'gap', records: [{ kind: 'entry', entry: entry(9, 1) }], error: /entry index 9 leaves a gap after last index 5/ },
    {
      name: 'commit beyond the log',
      records: [{ kind: 'hardState', hardState: { term: 1, vote: 1, commit: 40 } }],
      error: /hard state commit 40 is beyond the last entry 5: committed entries are missing/,
    },
    { name: 'rewrite of committed', records: [{ kind: 'entry', entry: entry(2, 2) }], error: /entry index 2 would rewrite a committed entry \(commit 3\)/ },
    {
      name: 'metadata in the middle',
      records: [{ kind: 'metadata', metadata: { version: 1, clusterId: ids.clusterId, memberId: ids.memberId, seq: 0, prevIndex: 0, prevTerm: 0 } }],
      error: /metadata record in the middle of a segment/,
    },
  ];
  for (const c of cases) {
    const dir = tempDataDir(t);
    await writeLog(dir, 4, opts);
    const at = appendRaw(dir, ...c.records);
    await assert.rejects(openStorage(dir, ids, opts), (err: unknown) => {
      assert.ok(err instanceof WalCorruptError, `${c.name}: ${String(err)}`);
      assert.equal(err.file, at.file);
      assert.equal(err.offset, at.offset, c.name);
      assert.match(err.message, c.error);
      return true;
    });
  }
});

test('the commit index never goes backwards on replay', async (t) => {
  const dir = tempDataDir(t);
  const opts = { preallocate: false };
  await writeLog(dir, 6, opts); // commit 5
  appendRaw(dir, { kind: 'hardState', hardState: { term: 2, vote: 3, commit: 2 } });
  const { storage, state } = await openStorage(dir, ids, opts);
  await storage.close();
  assert.deepEqual(state.hardState, { term: 2, vote: 3, commit: 5 });
});

test('a data dir of another cluster or member, or another format, is refused with a one-line error', async (t) => {
  const dir = tempDataDir(t);
  await writeLog(dir, 2, { preallocate: false });
  const before = dirFingerprint(dir);
  const [seg] = segments(dir);
  for (const other of [{ ...ids, clusterId: 0x52 }, { ...ids, memberId: 0x8 }]) {
    await assert.rejects(openStorage(dir, other), (err: unknown) => {
      assert.ok(err instanceof DataDirMismatchError);
      assert.equal(
        err.message,
        `data dir mismatch: ${seg} offset 0: WAL belongs to cluster 51 member 7, not cluster ${other.clusterId.toString(16)} member ${other.memberId.toString(16)}; ` +
          'refusing to start (point --data-dir at this member\'s own dir)',
      );
      return true;
    });
  }
  assert.equal(dirFingerprint(dir), before);
  // A future format version is named as such.
  const dir2 = tempDataDir(t);
  fs.mkdirSync(path.join(dir2, 'member', 'wal'), { recursive: true });
  fs.writeFileSync(
    path.join(dir2, 'member', 'wal', '0000000000000000-0000000000000001.wal'),
    encodeRecord({ kind: 'metadata', metadata: { version: 2, clusterId: ids.clusterId, memberId: ids.memberId, seq: 0, prevIndex: 0, prevTerm: 0 } }),
  );
  await assert.rejects(openStorage(dir2, ids), /data dir mismatch: .*0000000000000000-0000000000000001.wal offset 0: format version 2 is not supported/);
});

test('a lost or damaged snapshot falls back to an older one when the WAL still covers it, else refuses', async (t) => {
  const dir = tempDataDir(t);
  const opts = { preallocate: false, segmentBytes: 4096, keepSnapshots: 2 };
  const { storage } = await openStorage(dir, ids, opts);
  for (let i = 1; i <= 60; i++) {
    await storage.save({ term: 1, vote: 1, commit: i - 1 }, [entry(i, 1)], true);
    if (i % 20 === 0) await storage.saveSnapshot(snapshotAt(i - 1, 1));
  }
  await storage.close();
  const snapFiles = fs.readdirSync(path.join(dir, 'member', 'snap')).sort();
  assert.deepEqual(snapFiles, ['0000000000000027-0000000000000001.snap', '000000000000003b-0000000000000001.snap']);
  const newest = path.join(dir, 'member', 'snap', snapFiles[1]);
  flipByte(newest, 20);
  const r = await openStorage(dir, ids, opts);
  await r.storage.close();
  assert.equal(r.state.snapshot?.metadata.index, 39);
  assert.deepEqual(r.state.entries.map((e) => e.index), Array.from({ length: 21 }, (_, k) => 40 + k));
  assert.match(r.warnings.join('\n'), /snapshot .*003b-0000000000000001\.snap recorded in the WAL is unusable \(snapshot unusable: .*checksum mismatch/);
  assert.match(r.warnings.join('\n'), /recovered from older snapshot at index 39/);
  assert.ok(fs.existsSync(newest + '.broken'), 'the damaged file is set aside, not deleted');
  // Without the older snapshot too, the WAL (released before 39) cannot cover the log.
  fs.rmSync(path.join(dir, 'member', 'snap', snapFiles[0]));
  await assert.rejects(openStorage(dir, ids, opts), SnapshotCorruptError);
});

test('random damage to a WAL yields a recovered prefix or one of our errors, nothing else', async (t) => {
  const dir = tempDataDir(t);
  const opts = { preallocate: false, segmentBytes: 2048 };
  const { storage } = await openStorage(dir, ids, opts);
  for (let i = 1; i <= 40; i++) await storage.save({ term: 1 + (i >> 4), vote: 1, commit: i - 1 }, [entry(i, 1 + (i >> 4), 100)], true);
  await storage.saveSnapshot(snapshotAt(20, 2));
  for (let i = 41; i <= 70; i++) await storage.save({ term: 1 + (i >> 4), vote: 1, commit: i - 1 }, [entry(i, 1 + (i >> 4), 100)], true);
  await storage.close();
  const files = [...segments(dir), ...fs.readdirSync(path.join(dir, 'member', 'snap')).map((n) => path.join(dir, 'member', 'snap', n))];
  const originals = new Map(files.map((f) => [f, fs.readFileSync(f)]));
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const outcomes = new Map<string, number>();
  for (let round = 0; round < 60; round++) {
    for (const [f, b] of originals) fs.writeFileSync(f, b);
    fs.rmSync(path.join(dir, 'member', 'lock'), { force: true });
    const file = files[rand(files.length)];
    const size = originals.get(file)!.length;
    const kind = rand(3);
    if (kind === 0) for (let k = 0; k <= rand(4); k++) flipByte(file, rand(size));
    else if (kind === 1) fs.truncateSync(file, rand(size));
    else {
      const from = rand(size);
      zeroFrom(file, from, Math.min(size, from + 1 + rand(600)));
    }
    try {
      const r = await openStorage(dir, ids, opts);
      await r.storage.close();
      const first = r.state.snapshot ? r.state.snapshot.metadata.index + 1 : 1;
      r.state.entries.forEach((e, k) => assert.ok(sameEntry(e, entry(first + k, 1 + ((first + k) >> 4), 100))));
      outcomes.set('recovered', (outcomes.get('recovered') ?? 0) + 1);
    } catch (err) {
      assert.ok(
        err instanceof WalCorruptError || err instanceof SnapshotCorruptError || err instanceof DataDirMismatchError,
        `round ${round}: unexpected ${String(err)}`,
      );
      assert.doesNotMatch((err as Error).message, /\n/);
      outcomes.set((err as Error).name, (outcomes.get((err as Error).name) ?? 0) + 1);
    }
  }
  assert.ok((outcomes.get('recovered') ?? 0) > 0 && (outcomes.get('WalCorruptError') ?? 0) > 0, JSON.stringify([...outcomes]));
});

test('random bytes as a segment file never crash recovery with anything but our errors', async (t) => {
  const dir = tempDataDir(t);
  const seg = path.join(dir, 'member', 'wal', '0000000000000000-0000000000000001.wal');
  fs.mkdirSync(path.dirname(seg), { recursive: true });
  let seed = 99;
  for (let round = 0; round < 200; round++) {
    const n = round % 50 === 0 ? 0 : 1 + (round * 37) % 400;
    const bytes = Buffer.alloc(n);
    for (let i = 0; i < n; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      bytes[i] = seed >> 8;
    }
    // Half the rounds start with a valid header, so the damage is past it.
    const head = round % 2 === 0 ? encodeRecord({ kind: 'metadata', metadata: { version: 1, ...ids, seq: 0, prevIndex: 0, prevTerm: 0 } }) : Buffer.alloc(0);
    fs.writeFileSync(seg, Buffer.concat([head, bytes]));
    try {
      const r = await openStorage(dir, ids, { preallocate: false });
      await r.storage.close();
      // Only a valid header followed by a torn tail or zeros can be recovered: an empty log.
      assert.deepEqual(r.state.entries, []);
    } catch (err) {
      assert.ok(err instanceof WalCorruptError || err instanceof DataDirMismatchError, `round ${round}: unexpected ${String(err)}`);
    }
  }
});

test('an older segment cut short at a record boundary breaks the chain of segment headers: refused', async (t) => {
  const dir = tempDataDir(t);
  const opts = { preallocate: false, segmentBytes: 2048 };
  const { storage } = await openStorage(dir, ids, opts);
  for (let i = 1; i <= 20; i++) await storage.save({ term: 1, vote: 1, commit: i - 1 }, [entry(i, 1)], true);
  await storage.close();
  const [first, second] = segments(dir);
  const spans = recordSpans(first);
  // Drop the last entry record (and the hard state after it) cleanly.
  const lastEntry = spans.filter((s) => s.length > 300).at(-1)!;
  fs.truncateSync(first, lastEntry.offset);
  await assert.rejects(openStorage(dir, ids, opts), (err: unknown) => {
    assert.ok(err instanceof WalCorruptError);
    assert.equal(err.file, second);
    assert.equal(err.offset, 0);
    assert.match(err.message, /segment says the log before it ends at index \d+ term 1, but the previous segment ends at index \d+ term 1/);
    return true;
  });
});

test('temp files left by a crash (a segment being prepared, a snapshot being written) are removed quietly', async (t) => {
  const dir = tempDataDir(t);
  await writeLog(dir, 3, { preallocate: false });
  const wal = path.dirname(segments(dir)[0]);
  fs.writeFileSync(path.join(wal, 'next.wal.tmp'), Buffer.alloc(4096));
  fs.writeFileSync(path.join(dir, 'member', 'snap', '0000000000000002-0000000000000001.snap.tmp'), 'partial');
  const r = await openStorage(dir, ids, { preallocate: false });
  await r.storage.close();
  assert.deepEqual(r.warnings, []);
  assert.equal(r.state.entries.length, 4);
  assert.deepEqual(fs.readdirSync(wal).filter((n) => n.endsWith('.tmp')), []);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'member', 'snap')), []);
});
