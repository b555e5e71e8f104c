// Backoff doubles up to its ceiling, jitters within [d/2, d) and resets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from './backoff.ts';

test('delays double to the ceiling and reset after success', () => {
  const low = new Backoff({ initialMs: 50, maxMs: 2000, random: () => 0 });
  assert.deepEqual(Array.from({ length: 8 }, () => low.next()), [25, 50, 100, 200, 400, 800, 1000, 1000]);
  assert.equal(low.failures, 8);
  low.reset();
  assert.equal(low.next(), 25);
  const high = new Backoff({ initialMs: 50, maxMs: 2000, random: () => 0.999999 });
  for (let i = 0; i < 40; i++) {
    const d = high.next();
    assert.ok(d < 2000 && d >= 0, String(d));
  }
});

test('nonsense bounds are refused', () => {
  assert.throws(() => new Backoff({ initialMs: 0, maxMs: 10 }), /0 < initialMs <= maxMs/);
  assert.throws(() => new Backoff({ initialMs: 100, maxMs: 10 }), /0 < initialMs <= maxMs/);
});
