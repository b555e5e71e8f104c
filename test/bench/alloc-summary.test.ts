// alloc-summary.ts: totals and ranks the functions by what they allocated
// themselves, naming the stack that led to most of it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarise } from './alloc-summary.ts';

type Node = Parameters<typeof summarise>[0];
const node = (functionName: string, url: string, selfSize: number, children: Node[] = []): Node =>
  ({ callFrame: { functionName, url, lineNumber: 9 }, selfSize, children });

test('a profile is totalled and its allocating functions ranked, each with its heaviest stack', () => {
  const head = node('(root)', '', 0, [
    node('serve', 'file:///x/grpc/server.js', 1_000_000, [node('decode', 'file:///x/kv/codec.js', 3_000_000)]),
    node('apply', 'file:///x/kv/store.js', 0, [node('decode', 'file:///x/kv/codec.js', 500_000)]),
  ]);
  const lines = summarise(head, 2);
  assert.equal(lines[0], 'sampled 4.5 MB');
  assert.match(lines[1], /^ +3\.5 MB decode kv\/codec\.js:10$/);
  assert.match(lines[2], /mostly from \(root\) :10 < serve grpc\/server\.js:10$/);
  assert.match(lines[3], /^ +1\.0 MB serve grpc\/server\.js:10$/);
  assert.equal(lines.length, 5);
});
