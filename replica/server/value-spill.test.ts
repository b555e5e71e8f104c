// A member's own snapshots move the values of overwritten revisions into its
// data dir's spill files (replica/storage/value-spill.ts): old revisions read
// back from them, later snapshots copy them from the snapshot before, and
// after a restart (the spill wiped, the store rebuilt from snapshot and WAL)
// every revision reads the same.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import type { ReplicaHandle } from './server.ts';
import { proposePut as put, startOneMember, until } from './testing.ts';

const startOne = (dir: string, t: TestContext) =>
  startOneMember(t, dir, (e) => assert.fail(`member stopped: ${e.message}`), ['--snapshot-count', '500']);

/** valueAt reads `key` as of `revision` straight from the member's store. */
function valueAt(handle: ReplicaHandle, key: string, revision: number): string | undefined {
  const kv = handle.node.kv.range({ key: Buffer.from(key), revision }).kvs[0];
  return kv && Buffer.from(kv.value).toString('latin1');
}

const valueFor = (i: number) => `${i}:`.padEnd(1000, String.fromCharCode(32 + (i % 200)));

test('old values go to the spill files, read back the same, and survive a restart through snapshot and WAL', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-spill-member-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const spillDir = path.join(dir, 'member', 'spill');
  let handle = await startOne(dir, t);
  const written: Array<{ revision: number; value: string }> = [];
  // 2000 values of 1000 bytes overwrite two keys: about 2 MB of old values, more than a chunk.
  for (let i = 0; i < 2000; i += 50) {
    await Promise.all(Array.from({ length: 50 }, (_, j) => put(handle, `key-${(i + j) % 2}`, valueFor(i + j))));
  }
  // Revisions follow the apply order, which is the proposal order here (one member, one loop).
  const first = handle.node.kv.revision - 2000 + 1;
  for (let i = 0; i < 2000; i++) written.push({ revision: first + i, value: valueFor(i) });
  await until('an own snapshot spilled old values', () => fs.readdirSync(spillDir).some((f) => f.endsWith('.spill')), 20_000);
  const check = (h: ReplicaHandle, label: string) => {
    for (const [i, w] of written.entries()) {
      if (i % 7 !== 0 && i < 1990) continue;
      assert.equal(valueAt(h, `key-${i % 2}`, w.revision), w.value, `${label}: revision ${w.revision}`);
    }
  };
  check(handle, 'before restart');
  const scrape = await (await fetch(`http://127.0.0.1:${handle.metricsPort}/metrics`)).text();
  const spilled = Number(/^replicant_store_spilled_bytes\{[^}]*\} (\d+)$/m.exec(scrape)?.[1]);
  assert.ok(spilled >= 1000 && spilled <= 2000 * 1000, `replicant_store_spilled_bytes ${spilled}`);
  await until('an own snapshot was taken (it encoded spilled values)', () => fs.readdirSync(path.join(dir, 'member', 'snap')).some((f) => f.endsWith('.snap')), 20_000);
  // More writes (to other keys) until later snapshots copied (most of) what the ones before held.
  let copied = 0;
  for (let i = 0; copied < 2000 * 500; i++) {
    if (i === 100) assert.fail(`own snapshots copied ${copied} bytes from the ones before, after 5000 more puts`);
    await Promise.all(Array.from({ length: 50 }, (_, j) => put(handle, `other-${j}`, valueFor(i * 50 + j))));
    const metrics = await (await fetch(`http://127.0.0.1:${handle.metricsPort}/metrics`)).text();
    copied = Number(/^replicant_snapshot_copied_bytes_total\{[^}]*\} (\d+)$/m.exec(metrics)?.[1] ?? 0);
  }
  await handle.stop({ transferLeadership: false });
  assert.equal(fs.existsSync(spillDir), false, 'a stopping member removes its spill');
  fs.mkdirSync(spillDir);
  fs.writeFileSync(path.join(spillDir, '0000.spill'), 'stale');
  handle = await startOne(dir, t);
  check(handle, 'after restart');
  assert.notEqual(fs.readFileSync(path.join(spillDir, '0000.spill'), 'latin1'), 'stale', 'the stale file was wiped');
});
