// Measures the MessageBatch hot path both ways: protobufjs reflection (with the
// Message <-> wire object mapping it needs) against the hand-written codec.
// Run: node replica/transport/codec-bench.ts [--messages N] [--entries K] [--entry-bytes B]
// It is a measurement tool, never part of the test suite.
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import type { Message } from '../raft/types.ts';
import { message } from '../raft/types.ts';
import { decodeBatch, encodeBatch } from './batch-codec.ts';
import { fromWireMessage, raftProtoRoot, toWireMessage } from './wire.ts';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '64' },
    entries: { type: 'string', default: '16' },
    'entry-bytes': { type: 'string', default: '300' },
    seconds: { type: 'string', default: '6' },
  },
});
const nMessages = Number(values.messages);
const nEntries = Number(values.entries);
const entryBytes = Number(values['entry-bytes']);
const seconds = Number(values.seconds);

const batch: Message[] = [];
for (let i = 0; i < nMessages; i++) {
  const entries = [];
  for (let j = 0; j < nEntries; j++) {
    const index = 1_000_000 + i * nEntries + j;
    entries.push({ term: 7, index, type: 'normal' as const, data: new Uint8Array(entryBytes).fill(j & 255) });
  }
  batch.push(message({ type: 'app', to: 2, from: 1, term: 7, logTerm: 7, index: 999_999 + i * nEntries, commit: 999_000, entries }));
}

const Batch = raftProtoRoot().lookupType('replicant.raft.v1.MessageBatch');
const pbEncode = (ms: Message[]) => Batch.encode({ messages: ms.map(toWireMessage) } as never).finish();
const pbDecode = (b: Uint8Array) => (Batch.decode(b) as unknown as { messages: never[] }).messages.map(fromWireMessage);

/** rate runs `fn` for about `ms` and returns operations per second. */
function rate(fn: () => unknown, ms: number): number {
  let ops = 0;
  const start = performance.now();
  const deadline = start + ms;
  while (performance.now() < deadline) {
    for (let i = 0; i < 10; i++) fn();
    ops += 10;
  }
  return ops / ((performance.now() - start) / 1000);
}

/**
 * compare interleaves the methods over several short rounds, so a change in
 * machine load hits all of them alike, and prints the median and best round.
 */
function compare(methods: [string, () => unknown][], bytesPerOp: number): void {
  for (const [, fn] of methods) for (let i = 0; i < 50; i++) fn(); // warm up
  const rounds = Math.max(3, Math.round((seconds * 1000) / (200 * methods.length)));
  const results = methods.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) methods.forEach(([, fn], i) => results[i].push(rate(fn, 200)));
  methods.forEach(([name], i) => {
    const sorted = results[i].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    const best = sorted[sorted.length - 1];
    const msgs = (x: number) => `${((x * nMessages) / 1e3).toFixed(0).padStart(6)}k msg/s`;
    console.log(`${name.padEnd(30)} median ${msgs(median)} ${((median * bytesPerOp) / 1e6).toFixed(0).padStart(5)} MB/s   best ${msgs(best)}`);
  });
}

const frame = encodeBatch(batch);
console.log(`batch: ${nMessages} app messages x ${nEntries} entries x ${entryBytes} B = ${frame.length} B per frame`);
const wireBatch = { messages: batch.map(toWireMessage) };
compare(
  [
    ['encode protobufjs (with mapping)', () => pbEncode(batch)],
    ['encode protobufjs, premapped', () => Batch.encode(wireBatch as never).finish()],
    ['encode hand-written', () => encodeBatch(batch)],
  ],
  frame.length,
);
compare(
  [
    ['decode protobufjs (with mapping)', () => pbDecode(frame)],
    ['decode protobufjs, no mapping', () => Batch.decode(frame)],
    ['decode hand-written', () => decodeBatch(frame)],
  ],
  frame.length,
);
