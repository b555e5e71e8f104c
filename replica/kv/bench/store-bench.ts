// Measures the KV store at scale: N puts (default 1,000,000), ranges with a
// limit over a prefix, count-only ranges, historical reads, snapshot/restore,
// HashKV, compaction, and the command codec. Prints one line per figure.
// Run: node replica/kv/bench/store-bench.ts [--keys N]
// It is a measurement tool: it must never be part of `npm test`.
import { Buffer } from 'node:buffer';
import { KvStore, encodeCommand, decodeCommand, prefixEnd } from '../index.ts';
import type { KvCommand } from '../index.ts';

const arg = process.argv.indexOf('--keys');
const N = arg > 0 ? Number(process.argv[arg + 1]) : 1_000_000;

/**
 * time reports wall-clock and process CPU time (user + system, all threads):
 * on a shared machine the CPU figure is the steadier one.
 */
function time<T>(label: string, fn: () => T, per = 0): T {
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const out = fn();
  const ms = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const rate = per > 0 ? `  wall ${((ms * 1000) / per).toFixed(2)} us/op, cpu ${((cpuMs * 1000) / per).toFixed(2)} us/op` : '';
  console.log(`${label.padEnd(60)} wall ${ms.toFixed(0).padStart(7)} ms  cpu ${cpuMs.toFixed(0).padStart(7)} ms${rate}`);
  return out;
}

const keyOf = (i: number) => `/registry/pods/ns-${i % 100}/pod-${String(i).padStart(7, '0')}`;
const value = Buffer.alloc(100, 'v');
const store = new KvStore({ checkpointInterval: 1000 });
let index = 0;

const heapBefore = process.memoryUsage().heapUsed;
time(`put ${N.toLocaleString('en')} keys (100-byte values)`, () => {
  for (let i = 0; i < N; i++) {
    store.apply(++index, { kind: 'put', requestId: index, request: { key: Buffer.from(keyOf((i * 7919) % N)), value } });
  }
}, N);
globalThis.gc?.();
const heapAfter = process.memoryUsage().heapUsed;
console.log(`${'heap used by the store'.padEnd(60)} ${((heapAfter - heapBefore) / 2 ** 20).toFixed(0).padStart(9)} MiB (${((heapAfter - heapBefore) / N).toFixed(0)} B/key; settled only with --expose-gc)`);

const overwrites = Math.min(N, 200_000);
time(`overwrite ${overwrites.toLocaleString('en')} keys`, () => {
  for (let i = 0; i < overwrites; i++) {
    store.apply(++index, { kind: 'put', requestId: index, request: { key: Buffer.from(keyOf(i)), value } });
  }
}, overwrites);

const prefix = Buffer.from('/registry/pods/ns-42/');
const ranges = 10_000;
let returned = 0;
time(`range prefix (${(N / 100).toLocaleString('en')} keys) limit 10, with count`, () => {
  for (let i = 0; i < ranges; i++) {
    const r = store.range({ key: prefix, rangeEnd: prefixEnd(prefix), limit: 10 });
    returned += r.kvs.length;
    if (r.count !== N / 100 || !r.more) throw new Error('unexpected range answer');
  }
}, ranges);
time('range whole keyspace limit 10, with count', () => {
  for (let i = 0; i < ranges; i++) {
    const r = store.range({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]), limit: 10 });
    if (r.count !== N) throw new Error('unexpected count');
  }
}, ranges);
time('range single key', () => {
  for (let i = 0; i < 100_000; i++) store.range({ key: Buffer.from(keyOf(i)) });
}, 100_000);
time('count-only over the whole keyspace', () => {
  for (let i = 0; i < ranges; i++) store.range({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]), countOnly: true });
}, ranges);
time(`historical range prefix limit 10 (walks the ${(N / 100).toLocaleString('en')} keys)`, () => {
  for (let i = 0; i < 100; i++) store.range({ key: prefix, rangeEnd: prefixEnd(prefix), limit: 10, revision: N });
}, 100);

const snap = time('snapshot', () => store.snapshot());
console.log(`${'snapshot size'.padEnd(60)} ${(snap.length / 2 ** 20).toFixed(1).padStart(9)} MiB`);
const copy = new KvStore({ checkpointInterval: 1000 });
time('restore (incl. digest recomputation)', () => copy.restore(snap));
if (copy.digest() !== store.digest()) throw new Error('restored digest differs');
time('hashKV', () => store.hashKV(0));
time('checkpoint digest read', () => {
  for (let i = 0; i < 100_000; i++) store.digest();
}, 100_000);
time(`compact at the current revision (${overwrites.toLocaleString('en')} superseded revisions)`, () => {
  const r = store.apply(++index, { kind: 'compact', requestId: 0, request: { revision: store.revision } });
  if (r.kind === 'error') throw r.error;
});

const cmd: KvCommand = { kind: 'put', requestId: 123456789, request: { key: Buffer.from(keyOf(1)), value, prevKv: true } };
const encoded = encodeCommand(cmd);
time('encodeCommand (put, 100-byte value)', () => {
  for (let i = 0; i < 200_000; i++) encodeCommand(cmd);
}, 200_000);
time('decodeCommand (put, 100-byte value)', () => {
  for (let i = 0; i < 200_000; i++) decodeCommand(encoded);
}, 200_000);
