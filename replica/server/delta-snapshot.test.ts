// A member's own snapshots after a whole one are deltas (only what changed
// since the one before, in files that extend it): the chain reads back as
// the store was at the newest one, a restart recovers through it, the
// metrics count the bytes of each kind, and --snapshot-deltas 0 makes every
// snapshot whole again.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { KvStore } from '../kv/index.ts';
import { parseSnapshotFileName } from '../storage/layout.ts';
import { readSnapshotChain } from '../storage/snapshot-chain.ts';
import { readSnapshotFileHead } from '../storage/snapshot-file.ts';
import { decodeSnapshot, mergeSnapshotData } from './envelope.ts';
import type { ReplicaHandle } from './server.ts';
import { proposePut as put, startOneMember } from './testing.ts';

const startOne = (dir: string, t: TestContext, flags: string[]) =>
  startOneMember(t, dir, (e) => assert.fail(`member stopped: ${e.message}`), ['--snapshot-count', '200', ...flags]);

function tempDir(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-delta-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function writtenBytes(h: ReplicaHandle): Promise<{ whole: number; delta: number }> {
  const text = await (await fetch(`http://127.0.0.1:${h.metricsPort}/metrics`)).text();
  const kind = (k: string) => Number(new RegExp(`^replicant_snapshot_written_bytes_total\\{[^}]*kind="${k}"[^}]*\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
  return { whole: kind('whole'), delta: kind('delta') };
}

/** snapshotFiles lists the member's snapshot files, oldest first, with what each extends. */
function snapshotFiles(dir: string, h: ReplicaHandle): { index: number; term: number; extends: number | undefined }[] {
  const snapDir = path.join(dir, 'member', 'snap');
  return fs
    .readdirSync(snapDir)
    .filter((n) => n.endsWith('.snap'))
    .sort()
    .map((n) => ({ ...parseSnapshotFileName(n)!, extends: readSnapshotFileHead(path.join(snapDir, n), { clusterId: h.clusterId, memberId: h.memberId }).extends?.index }));
}

async function putRound(h: ReplicaHandle, round: number): Promise<void> {
  await Promise.all(Array.from({ length: 50 }, (_, j) => put(h, `key-${(round * 50 + j) % 40}`, `${round}:${j}:`.padEnd(300, 'x'))));
}

test('own snapshots after a whole one are deltas; the chain reads back as the store was and a restart recovers through it', async (t) => {
  const dir = tempDir(t);
  let handle = await startOne(dir, t, []);
  let round = 0;
  for (;;) {
    if (round === 200) assert.fail(`no delta snapshot after ${round * 50} puts: ${JSON.stringify(snapshotFiles(dir, handle))}`);
    await putRound(handle, round++);
    const files = snapshotFiles(dir, handle);
    const bytes = await writtenBytes(handle);
    if (files.at(-1)?.extends !== undefined && bytes.whole > 0 && bytes.delta > 0) break;
  }
  // Stop writing: the newest file (a delta) stays the newest while it is read.
  const files = snapshotFiles(dir, handle);
  const newest = files.at(-1)!;
  assert.ok(files.some((f) => f.index === newest.extends), 'the file a delta extends is kept');
  const ids = { clusterId: handle.clusterId, memberId: handle.memberId };
  const snap = readSnapshotChain(path.join(dir, 'member', 'snap'), ids, newest, mergeSnapshotData);
  const restored = new KvStore();
  restored.restore(decodeSnapshot(snap.data).kv);
  assert.equal(restored.appliedIndex, newest.index);
  const at = restored.revision;
  assert.equal(restored.hashKV(at).hash, handle.node.kv.hashKV(at).hash, 'the chain holds the store as it was at the newest snapshot');

  const before = handle.node.kv.hashKV();
  await handle.stop({ transferLeadership: false });
  handle = await startOne(dir, t, []);
  assert.deepEqual(handle.node.kv.hashKV(), before, 'a restart through the chain and the WAL gives the same state');
  // Writes go on after the restart: the next snapshots start a new chain or extend the recovered one.
  for (let i = 0; i < 10; i++) await putRound(handle, round++);
  const after = handle.node.kv.hashKV();
  await handle.stop({ transferLeadership: false });
  handle = await startOne(dir, t, []);
  assert.deepEqual(handle.node.kv.hashKV(), after);
});

test('--snapshot-deltas 0: every own snapshot is whole', async (t) => {
  const dir = tempDir(t);
  const handle = await startOne(dir, t, ['--snapshot-deltas', '0']);
  for (let round = 0; (await writtenBytes(handle)).whole === 0 || snapshotFiles(dir, handle).length < 2; round++) {
    if (round === 200) assert.fail('no two snapshots taken');
    await putRound(handle, round);
  }
  for (let round = 0; round < 10; round++) await putRound(handle, 1000 + round);
  assert.deepEqual(snapshotFiles(dir, handle).filter((f) => f.extends !== undefined), []);
  assert.equal((await writtenBytes(handle)).delta, 0);
});
