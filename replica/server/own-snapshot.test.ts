// streamOwnSnapshot: a member's own snapshot streamed into its file holds the
// bytes of the envelope and snapshot() at the capture point, whatever the
// store does meanwhile; the encoder sizes first when its totals cannot fix
// the length's size, starts over when the image fell outside their range,
// and a cancelled or failed stream leaves no file behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Buffer } from 'node:buffer';
import { KvStore } from '../kv/index.ts';
import { SnapshotEncoder, decodeSnapshot as decodeKv } from '../kv/snapshot.ts';
import { openStorage } from '../storage/index.ts';
import type { DiskStorage } from '../storage/index.ts';
import { emptyConfState, type SnapshotMetadata } from '../raft/index.ts';
import { encodeSnapshot, snapshotEnvelope } from './envelope.ts';
import { ownSnapshotVerdict, streamOwnSnapshot } from './own-snapshot.ts';

const ids = { clusterId: 0x77, memberId: 1 };

function filledStore(keys: number, valueBytes = 64): KvStore {
  const store = new KvStore();
  for (let i = 0; i < keys; i++) {
    store.apply(i + 1, { kind: 'put', requestId: i + 1, request: { key: Buffer.from(`key-${i}`), value: Buffer.alloc(valueBytes, 'v') } });
  }
  return store;
}

async function openDisk(t: { after(fn: () => unknown): void }, lastIndex: number): Promise<{ disk: DiskStorage; snapDir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-own-snap-'));
  const { storage } = await openStorage(dir, ids, { segmentBytes: 1 << 20 });
  t.after(async () => {
    await storage.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const ents = [];
  for (let i = 1; i <= lastIndex; i++) ents.push({ index: i, term: 1, type: 'normal' as const, data: new Uint8Array(1) });
  await storage.save({ term: 1, vote: 1, commit: lastIndex }, ents, true);
  return { disk: storage, snapDir: path.join(dir, 'member', 'snap') };
}

function metaAt(index: number): SnapshotMetadata {
  return { index, term: 1, confState: { ...emptyConfState(), voters: [1] } };
}

test('the streamed file holds the envelope then snapshot() at the capture point, while the store moves on', async (t) => {
  const store = filledStore(5000);
  const { disk } = await openDisk(t, 5000);
  const members = Uint8Array.from([9, 8, 7]);
  const expected = Buffer.from(encodeSnapshot(members, store.snapshot()));
  let finished = 0;
  const stream = streamOwnSnapshot(disk, metaAt(5000), snapshotEnvelope(members), store.streamSnapshot(16 * 1024), () => finished++, { sliceMs: 0, stepRevisions: 200 });
  let i = 5000;
  while (!stream.finished) {
    store.apply(++i, { kind: 'put', requestId: i, request: { key: Buffer.from(`key-${i % 7}`), value: Buffer.from('late') } });
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await stream.done;
  assert.equal(stream.error, undefined);
  assert.equal(finished, 1);
  assert.equal(stream.stats.sized, false, 'the totals fixed the length');
  assert.equal(stream.stats.bytes, expected.length);
  assert.ok(stream.stats.slices > 10, `${stream.stats.slices} slices`);
  await disk.commitSnapshotFile(stream.file!);
  assert.ok(Buffer.from(disk.readSnapshot(metaAt(5000)).data).equals(expected));
});

test('a store whose size range straddles a varint size is sized first; one outside its range is written again', async (t) => {
  // 200 keys of 64-byte values: an image of ~16 KB, whose floor and bound
  // from the totals straddle 16384 bytes (where a length varint grows a byte).
  const store = filledStore(200, 64);
  const { disk } = await openDisk(t, 200);
  const encoder = store.streamSnapshot(4096);
  const r = encoder.sizeRange!;
  assert.ok(r.min < 16384 && r.max >= 16384, `range [${r.min}, ${r.max}] straddles 16384`);
  const expected = Buffer.from(encodeSnapshot(new Uint8Array(), store.snapshot()));
  const sized = streamOwnSnapshot(disk, metaAt(200), snapshotEnvelope(new Uint8Array()), encoder, () => {});
  await sized.done;
  assert.equal(sized.error, undefined);
  assert.equal(sized.stats.sized, true);
  await disk.commitSnapshotFile(sized.file!);
  assert.ok(Buffer.from(disk.readSnapshot(metaAt(200)).data).equals(expected));

  // Totals that claim far less than the store holds: the first file is refused, the image sized and written again.
  const big = filledStore(300, 100);
  const image = Buffer.from(big.snapshot());
  const { keys, histories, ...header } = decodeKv(image);
  const lying = new SnapshotEncoder({ ...header, keyChunks: [keys], historyChunks: [histories], totals: { keys: 10, revisions: 10, keyAndValueChars: 2000, valueChars: 1000 } }, 0, 4096);
  assert.ok(lying.sizeRange!.max < 16384 && image.length > 16384);
  const { disk: disk2, snapDir } = await openDisk(t, 300);
  const again = streamOwnSnapshot(disk2, metaAt(300), snapshotEnvelope(new Uint8Array()), lying, () => {});
  await again.done;
  assert.equal(again.error, undefined);
  assert.equal(again.stats.sized, true);
  assert.equal(lying.sizedAgain, true);
  assert.deepEqual(fs.readdirSync(snapDir), [path.basename(again.file!.tmp)], 'only the second file is left');
  await disk2.commitSnapshotFile(again.file!);
  assert.ok(Buffer.from(disk2.readSnapshot(metaAt(300)).data).equals(Buffer.from(encodeSnapshot(new Uint8Array(), image))));
});

test('a cancelled stream leaves no file and does not report; a failed one reports its error', async (t) => {
  const store = filledStore(20000);
  const { disk, snapDir } = await openDisk(t, 20000);
  let finished = 0;
  const stream = streamOwnSnapshot(disk, metaAt(20000), snapshotEnvelope(new Uint8Array()), store.streamSnapshot(4096), () => finished++, { sliceMs: 0, stepRevisions: 100 });
  while (stream.stats.slices < 5) await new Promise<void>((resolve) => setImmediate(resolve));
  stream.cancel();
  await stream.done;
  assert.equal(stream.file, undefined);
  assert.equal(stream.error, undefined);
  assert.equal(finished, 0);
  assert.deepEqual(fs.readdirSync(snapDir), [], 'the partial file is removed');
  // A snapshot the storage refuses (not newer than its saved one) fails the stream.
  await disk.saveSnapshot({ metadata: metaAt(20000), data: new Uint8Array(10) });
  const refused = streamOwnSnapshot(disk, metaAt(19000), snapshotEnvelope(new Uint8Array()), store.streamSnapshot(4096), () => finished++);
  await refused.done;
  assert.match(String(refused.error), /not newer than the saved snapshot/);
  assert.equal(finished, 1);
});

test('the loop drops a stale own snapshot even when its stream failed; otherwise a failure is fatal', async (t) => {
  const at = { applied: 50_000, lastSnapshotIndex: 40_000, firstIndex: 35_000 };
  assert.equal(ownSnapshotVerdict({ ...at, failed: false, finished: true }), 'commit');
  assert.equal(ownSnapshotVerdict({ ...at, failed: true, finished: false }), 'fail');
  assert.equal(ownSnapshotVerdict({ ...at, failed: false, finished: false }), 'cancelled');
  // A leader snapshot at 55 000 was installed while the stream ran: stale, whatever became of the stream.
  const installed = { applied: 50_000, lastSnapshotIndex: 55_000, firstIndex: 55_001 };
  assert.equal(ownSnapshotVerdict({ ...installed, failed: false, finished: true }), 'drop-stale');
  assert.equal(ownSnapshotVerdict({ ...installed, failed: true, finished: false }), 'drop-stale');
  assert.equal(ownSnapshotVerdict({ applied: 50_000, lastSnapshotIndex: 40_000, firstIndex: 60_000, failed: false, finished: true }), 'drop-stale', 'the log starts after it');

  // The failure in question: the leader's snapshot saved before the stream's first chunk opened its file.
  const store = filledStore(3000);
  const { disk, snapDir } = await openDisk(t, 3000);
  await disk.saveSnapshot({ metadata: metaAt(3000), data: new Uint8Array(10) });
  const stream = streamOwnSnapshot(disk, metaAt(2500), snapshotEnvelope(new Uint8Array()), store.streamSnapshot(4096), () => {});
  await stream.done;
  assert.match(String(stream.error), /not newer than the saved snapshot at index 3000/);
  assert.equal(ownSnapshotVerdict({ applied: 2500, lastSnapshotIndex: 3000, firstIndex: 3001, failed: true, finished: false }), 'drop-stale');
  assert.deepEqual(fs.readdirSync(snapDir).filter((n) => n.endsWith('.tmp')), [], 'no file left behind');
});
