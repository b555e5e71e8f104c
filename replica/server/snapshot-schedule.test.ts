// The snapshot schedule: one snapshot per period at the member's own phase,
// never closer than half a period, never further apart than 1.5 periods, and
// members with different ids spread over the period; and when the next one
// may be a delta of the chain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extendsChain, snapshotDueAt, snapshotPhase, type OwnChain } from './snapshot-schedule.ts';

function snapshotsOver(entries: number, every: number, phase: number, start = 0): number[] {
  const taken: number[] = [];
  let last = start;
  for (let applied = start + 1; applied <= entries; applied++) {
    if (snapshotDueAt(applied, last, every, phase)) {
      taken.push(applied);
      last = applied;
    }
  }
  return taken;
}

test('a member snapshots once per period, at its phase', () => {
  assert.deepEqual(snapshotsOver(50_000, 10_000, 0), [10_000, 20_000, 30_000, 40_000, 50_000]);
  // The first point (3000) comes too soon after the start: the first snapshot waits for half a period.
  assert.deepEqual(snapshotsOver(50_000, 10_000, 3_000), [5_000, 13_000, 23_000, 33_000, 43_000]);
  assert.deepEqual(snapshotsOver(50_000, 10_000, 7_000), [7_000, 17_000, 27_000, 37_000, 47_000]);
});

test('gaps stay between half a period and 1.5 periods, whatever the starting point', () => {
  for (const phase of [0, 1, 4_999, 5_000, 9_999]) {
    for (const start of [0, 2_500, 9_998, 123_456]) {
      const taken = snapshotsOver(start + 100_000, 10_000, phase, start);
      let prev = start;
      for (const t of taken) {
        assert.ok(t - prev >= 5_000 && t - prev <= 15_000, `phase ${phase} start ${start}: gap ${t - prev}`);
        prev = t;
      }
      assert.ok(start + 100_000 - prev <= 15_000, `phase ${phase} start ${start}: tail ${start + 100_000 - prev}`);
    }
  }
  assert.equal(snapshotDueAt(1_000_000, 0, 0, 0), false, 'every = 0: never');
});

test('phases of different members differ and stay within the period', () => {
  const ids = [0x1a2b3c4d5e6f7, 0x2b3c4d5e6f708, 0x3c4d5e6f70819, 17, 2 ** 53 - 1];
  const phases = ids.map((id) => snapshotPhase(id, 10_000));
  for (const p of phases) assert.ok(Number.isInteger(p) && p >= 0 && p < 10_000, `phase ${p}`);
  assert.equal(new Set(phases).size, phases.length, `phases ${phases.join(', ')}`);
  assert.equal(snapshotPhase(12345, 10_000), snapshotPhase(12345, 10_000), 'deterministic');
});

test('a delta extends the chain while it is the newest, short and smaller than the whole one', () => {
  const chain: OwnChain = { tipIndex: 500, deltas: 3, deltaBytes: 90, rootBytes: 100 };
  assert.equal(extendsChain(chain, 500, 8), true);
  assert.equal(extendsChain(undefined, 500, 8), false, 'no chain: whole');
  assert.equal(extendsChain(chain, 600, 8), false, 'a snapshot from the leader is newer: whole');
  assert.equal(extendsChain(chain, 500, 3), false, 'as many deltas as allowed: whole');
  assert.equal(extendsChain(chain, 500, 0), false, '--snapshot-deltas 0: always whole');
  assert.equal(extendsChain({ ...chain, deltaBytes: 100 }, 500, 8), false, 'deltas as large as the whole one: whole');
});
