// A leader does not hold its loop on its own fdatasync: while its write of
// new entries is held back, its two followers' acknowledgements commit them
// and the client is answered; its later writes wait in order behind the held
// one, and nothing is lost once it completes. A leader whose disk is slower
// than its followers' still takes its own snapshots under load. Three
// members in this process.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ReplicaHandle } from './server.ts';
import { proposePut, startGroup, until } from './testing.ts';

type Save = (hs: unknown, entries: unknown[], sync: boolean) => Promise<void>;

/** holdSaves makes the member's saves of entries wait until release() (white-box); returns the gate. */
function holdSaves(handle: ReplicaHandle): { release(): void; held(): number } {
  const disk = (handle.node as unknown as { o: { disk: { save: Save } } }).o.disk;
  const save = disk.save.bind(disk);
  let open: () => void = () => {};
  const gate = new Promise<void>((resolve) => (open = resolve));
  let held = 0;
  disk.save = (hs, entries, sync) => {
    const written = save(hs, entries, sync);
    if (entries.length === 0) return written;
    held++;
    return gate.then(() => written);
  };
  return { release: () => open(), held: () => held };
}

test("a leader answers a put its followers made durable while its own write of it is still held", async (t) => {
  const { leader } = await startGroup(t, 3);
  await proposePut(leader, 'warm', 'up');
  const gate = holdSaves(leader);
  let answered = 0;
  const puts = [0, 1, 2].map((i) => proposePut(leader, `k${i}`, `v${i}`).then(() => answered++));
  let revision: number;
  try {
    await until('the leader answered while its own writes are held', () => answered === 3, 5000);
    assert.ok(gate.held() >= 1, 'its writes of the entries were held');
    revision = leader.node.kv.revision;
  } finally {
    gate.release(); // also when the test failed: the members must be able to stop
  }
  await Promise.all(puts);
  await proposePut(leader, 'after', 'release');
  assert.equal(leader.node.kv.revision, revision + 1, 'the leader went on writing after its held writes completed');
  assert.equal(leader.node.status().state, 'leader');
  const raft = leader.node.raw.raft;
  await until('the leader counts itself for everything committed once its writes are done', () => (raft.trk.progress.get(leader.memberId)?.match ?? 0) >= raft.raftLog.committed);
});

/** slowDisk makes the member's saves complete in call order, in rounds of `ms` (a group commit whose fdatasync takes that long; white-box). */
function slowDisk(handle: ReplicaHandle, ms: number): void {
  const disk = (handle.node as unknown as { o: { disk: { save: Save } } }).o.disk;
  const save = disk.save.bind(disk);
  let pending: (() => void)[] = [];
  let busy = false;
  const round = () => {
    if (busy || pending.length === 0) return;
    busy = true;
    const batch = pending;
    pending = [];
    setTimeout(() => {
      busy = false;
      for (const done of batch) done();
      round();
    }, ms);
  };
  disk.save = (hs, entries, sync) => {
    const written = save(hs, entries, sync);
    return new Promise<void>((resolve, reject) => {
      pending.push(() => written.then(resolve, reject));
      round();
    });
  };
}

test('a leader whose disk is slower than its followers’ still takes its own snapshots under load', async (t) => {
  const { handles, leader } = await startGroup(t, 3, ['--snapshot-count', '300', '--snapshot-catchup-entries', '50']);
  await proposePut(leader, 'warm', 'up');
  const start = leader.node.kv.appliedIndex;
  slowDisk(leader, 40);
  let stop = false;
  const clients = Array.from({ length: 32 }, async (_, c) => {
    while (!stop) {
      await proposePut(leader, `k${c}`, 'x'.repeat(100));
    }
  });
  try {
    // Under load, as a member does when its disk keeps up: about one own
    // snapshot per 300 entries (at most 1.5 × 300 apart, plus the encode's time).
    await until('the leader applied 3000 entries more', () => leader.node.kv.appliedIndex >= start + 3000, 30_000);
    await until(
      'the leader’s own snapshot within 900 entries of what it applied, while the load goes on',
      () => leader.node.kv.appliedIndex - leader.node.snapshotIndex <= 900,
      5_000,
    );
    assert.ok(handles.every((h) => h.node.snapshotIndex > start), 'every member took its own snapshots');
  } finally {
    stop = true;
    await Promise.all(clients);
  }
});
