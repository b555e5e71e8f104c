import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RestartBackoff } from './backoff.ts';

test('the first restart is immediate, then the wait doubles up to the maximum', () => {
  const b = new RestartBackoff({ initialMs: 10_000, maxMs: 40_000, resetAfterMs: 600_000 });
  const waits: number[] = [];
  let t = 1_000_000;
  for (let i = 0; i < 5; i++) {
    // The container ran 1 s and exited at t; we ask right away.
    const w = b.waitMs(t, 1000, t);
    waits.push(w);
    b.restarted();
    t += w + 1000;
  }
  assert.deepEqual(waits, [0, 10_000, 20_000, 40_000, 40_000]);
  // Asking later waits only for what is left.
  assert.equal(b.waitMs(t, 1000, t + 15_000), 25_000);
});

test('a container that ran cleanly for resetAfter starts over', () => {
  const b = new RestartBackoff({ initialMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 });
  b.restarted();
  b.restarted();
  assert.equal(b.currentMs, 20_000);
  assert.equal(b.waitMs(5_000_000, 600_000, 5_000_000), 0);
  b.restarted();
  assert.equal(b.currentMs, 10_000);
});
