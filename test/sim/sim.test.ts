// The simulator as part of `npm test`: a bounded number of seeds must run
// without a single safety or liveness violation, and a seed must replay the
// same history byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { runSeed } from './run.ts';
import { runSeeds } from './parallel.ts';

const SEEDS = Number(process.env.SIM_SEEDS ?? 3000);

test('the same seed replays the same history', () => {
  for (const seed of [1, 42, 4242]) {
    const a = runSeed({ seed });
    const b = runSeed({ seed });
    assert.equal(a.trace, b.trace, `seed ${seed} diverged between runs`);
    assert.deepEqual(a, b);
  }
});

test('a different seed gives a different history', () => {
  assert.notEqual(runSeed({ seed: 7 }).trace, runSeed({ seed: 8 }).trace);
});

test(`${SEEDS} seeded runs keep every safety property and recover after healing`, async () => {
  const summary = await runSeeds({ first: 1, count: SEEDS }, Math.min(2, availableParallelism()));
  const f = summary.firstFailure;
  assert.equal(
    summary.violations,
    0,
    f ? `seed ${f.seed} failed:\n${f.violations.join('\n')}\nreplay: npm run sim -- --seeds 1 --seed ${f.seed}` : '',
  );
  assert.equal(summary.seeds, SEEDS);
  // The runs must actually exercise the protocol, not idle.
  assert.ok(summary.committedCommands > SEEDS * 10, `only ${summary.committedCommands} commands committed`);
  assert.ok(summary.configChanges > SEEDS, `only ${summary.configChanges} configuration changes committed`);
  assert.ok(summary.readsChecked > SEEDS, `only ${summary.readsChecked} reads checked`);
  assert.ok(summary.leaderDownReports > SEEDS / 10, `only ${summary.leaderDownReports} leader-down reports taken`);
});

test('every cluster size from 1 to 7 runs clean', () => {
  for (let nodes = 1; nodes <= 7; nodes++) {
    for (let seed = 1; seed <= 15; seed++) {
      const r = runSeed({ seed: seed * 1000 + nodes, nodes });
      assert.deepEqual(r.violations, [], `nodes=${nodes} seed=${seed * 1000 + nodes}`);
    }
  }
});
