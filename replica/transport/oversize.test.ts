// Cutting an oversized 'app' message yields consecutive appends with the same entries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Entry } from '../raft/types.ts';
import { message } from '../raft/types.ts';
import { batchEntrySize, encodedMessageSize } from './batch-codec.ts';
import { fitToFrame } from './oversize.ts';

const entries = (from: number, n: number, bytes: number): Entry[] =>
  Array.from({ length: n }, (_, i) => ({ term: 3 + (i >> 2), index: from + i, type: 'normal' as const, data: new Uint8Array(bytes).fill(i) }));

test('a message that fits is returned as is', () => {
  const m = message({ type: 'app', to: 2, from: 1, entries: entries(11, 2, 10) });
  const size = encodedMessageSize(m);
  const fitted = fitToFrame(m, size, 4096);
  assert.deepEqual(fitted, { messages: [m], sizes: [size], truncated: false });
});

test('an oversized app message becomes consecutive appends, each within the limit', () => {
  const m = message({ type: 'app', to: 2, from: 1, term: 5, logTerm: 2, index: 10, commit: 17, entries: entries(11, 20, 1000) });
  const limit = 4500;
  const fitted = fitToFrame(m, encodedMessageSize(m), limit);
  assert.equal(fitted.truncated, false);
  assert.ok(fitted.messages.length >= 5, `expected several pieces, got ${fitted.messages.length}`);
  assert.deepEqual(fitted.messages.flatMap((p) => p.entries), m.entries);
  let prevIndex = 10;
  let prevTerm = 2;
  fitted.messages.forEach((p, i) => {
    assert.equal(fitted.sizes[i], encodedMessageSize(p));
    assert.ok(batchEntrySize(fitted.sizes[i]) <= limit);
    assert.equal(p.index, prevIndex);
    assert.equal(p.logTerm, prevTerm);
    assert.equal(p.commit, 17);
    assert.equal(p.term, 5);
    const last = p.entries[p.entries.length - 1];
    prevIndex = last.index;
    prevTerm = last.term;
  });
});

test('what cannot be cut is left out and reported', () => {
  const vote = message({ type: 'vote', to: 2, from: 1, context: new Uint8Array(5000) });
  assert.deepEqual(fitToFrame(vote, encodedMessageSize(vote), 1000), { messages: [], sizes: [], truncated: true });
  const m = message({ type: 'app', to: 2, from: 1, index: 10, entries: [...entries(11, 2, 100), ...entries(13, 1, 5000), ...entries(14, 1, 10)] });
  const fitted = fitToFrame(m, encodedMessageSize(m), 1000);
  assert.equal(fitted.truncated, true);
  assert.deepEqual(fitted.messages.flatMap((p) => p.entries.map((e) => e.index)), [11, 12]);
});
