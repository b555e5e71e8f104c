// The raft ticker keeps a fixed schedule: late callbacks do not push later
// ticks back (setInterval's drift), ticks missed by a blocked loop are dropped
// rather than delivered in a burst, and nothing fires after stop().
import assert from 'node:assert/strict';
import test from 'node:test';
import { startTicker, type TickerClock } from './ticker.ts';

/** FakeClock runs timers in order; `lateBy` makes every callback run that much after its due time. */
class FakeClock implements TickerClock {
  t = 0;
  lateBy = 0;
  private timers: { due: number; fn: () => void; id: number }[] = [];
  private ids = 0;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.ids;
    this.timers.push({ due: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== h);
  }
  /** runUntil fires due timers (late by lateBy) until time `end`. */
  runUntil(end: number): void {
    for (;;) {
      this.timers.sort((a, b) => a.due - b.due);
      const next = this.timers[0];
      if (!next || next.due + this.lateBy > end) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.due + this.lateBy);
      next.fn();
    }
    this.t = Math.max(this.t, end);
  }
}

test('ticks stay on the fixed schedule when every callback runs late', () => {
  const c = new FakeClock();
  c.lateBy = 9; // each timer fires 9 ms after it was due (a busy event loop)
  const at: number[] = [];
  startTicker(100, () => at.push(c.now()), c);
  c.runUntil(2000);
  // setInterval re-arming from the late callback would give 109, 218, ... and only 18 ticks by 2 s.
  assert.equal(at.length, 19);
  assert.deepEqual(at.slice(0, 3), [109, 209, 309]);
  assert.equal(at[18], 1909, 'no drift accumulates: tick k runs at k × 100 + lateness');
});

test('a loop blocked for several periods gets one tick, then the schedule resumes', () => {
  const c = new FakeClock();
  const at: number[] = [];
  startTicker(100, () => {
    at.push(c.now());
    if (at.length === 2) c.t += 350; // the callback (the loop) is blocked for 350 ms
  }, c);
  c.runUntil(1000);
  assert.deepEqual(at, [100, 200, 600, 700, 800, 900, 1000], 'slots 300-500 are dropped, not delivered in a burst');
});

test('stop() ends the ticks, also from inside a tick', () => {
  const c = new FakeClock();
  let n = 0;
  const ticker = startTicker(100, () => {
    if (++n === 3) ticker.stop();
  }, c);
  c.runUntil(1000);
  assert.equal(n, 3);
  assert.throws(() => startTicker(0, () => undefined, c), /positive/);
});
