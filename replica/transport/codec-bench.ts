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
    seconds: { type: 'string', default: '2' },
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

function measure(name: string, fn: () => unknown, bytesPerOp: number): void {
  for (let i = 0; i < 50; i++) fn(); // warm up
  let ops = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  while (performance.now() < deadline) {
    for (let i = 0; i < 20; i++) fn();
    ops += 20;
  }
  const secs = (performance.now() - start) / 1000;
  const msgs = (ops * nMessages) / secs;
  const mb = (ops * bytesPerOp) / secs / 1e6;
  console.log(`${name.padEnd(28)} ${(msgs / 1e3).toFixed(0).padStart(7)}k msg/s ${mb.toFixed(0).padStart(6)} MB/s`);
}

const frame = encodeBatch(batch);
console.log(`batch: ${nMessages} app messages x ${nEntries} entries x ${entryBytes} B = ${frame.length} B per frame`);
measure('encode protobufjs', () => pbEncode(batch), frame.length);
const wireBatch = { messages: batch.map(toWireMessage) };
measure('encode protobufjs, premapped', () => Batch.encode(wireBatch as never).finish(), frame.length);
measure('encode hand-written', () => encodeBatch(batch), frame.length);
measure('decode protobufjs', () => pbDecode(frame), frame.length);
measure('decode protobufjs, no mapping', () => Batch.decode(frame), frame.length);
measure('decode hand-written', () => decodeBatch(frame), frame.length);
