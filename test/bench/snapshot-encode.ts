// Measures what a member's own snapshot encode costs its event loop: a KV
// store spilling old values into files as a member's does (FileSpill), filled
// with the put workloads' shape (256-byte values over 100,000 keys), encoded
// streaming (KvStore.streamSnapshot) into a file after every batch of puts,
// as the member's snapshot schedule would, each copying what the one before
// holds from its file (SnapshotImageReader), as a member does, or with
// --full encoding every revision from the store, or with --deltas writing a
// whole image first and then deltas of the one before (item 36), and at
// the end laying the chain onto the whole one as a restart or a follower's
// catch-up does (mergeImages, one pass), then in slices as a leader reading
// it back for a follower does (mergeSnapshotDataInSlices). Prints, per encode, the
// revisions held, the image's size, the bytes copied, wall and CPU time,
// and the collector's pause time; with --deltas, the merge's time, and in
// slices its time in all and the longest the loop was held.
// Run: node test/bench/snapshot-encode.ts [--batches N] [--batch PUTS] [--full | --deltas]
// A measurement tool: never part of `npm test`.
import { Buffer } from 'node:buffer';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import zlib from 'node:zlib';
import { parseArgs } from 'node:util';
import { KvStore, mergeImages, type DeltaBase, type ImageLayout } from '../../replica/kv/index.ts';
import { FileSpill, SnapshotImageReader } from '../../replica/storage/index.ts';
import { MERGE_SLICE_MS, decodeSnapshot as decodeEnvelope, encodeSnapshot, mergeSnapshotDataInSlices } from '../../replica/server/envelope.ts';

const { values: flags } = parseArgs({ options: { batches: { type: 'string' }, batch: { type: 'string' }, full: { type: 'boolean' }, deltas: { type: 'boolean' } } });
const BATCHES = Number(flags.batches ?? 5);
const BATCH = Number(flags.batch ?? 200_000);
const KEYSPACE = 100_000;

let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
}).observe({ entryTypes: ['gc'] });

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-encode-bench-'));
const spill = FileSpill.open(path.join(dir, 'spill'));
const store = new KvStore({ spill });
const value = Buffer.alloc(256, 'v');
let index = 0;
let seed = 1;
let last: { layout: ImageLayout; file: string } | undefined;
let since: DeltaBase | undefined;
/** --deltas: the whole image's file, then each delta's */
const chain: string[] = [];
try {
  for (let b = 1; b <= BATCHES; b++) {
    for (let i = 0; i < BATCH; i++) {
      seed = (seed * 48271) % 2147483647;
      store.apply(++index, { kind: 'put', requestId: index, request: { key: Buffer.from(`key-${seed % KEYSPACE}`), value } });
    }
    await new Promise((r) => setImmediate(r)); // let the spill's writes finish, as between a member's slices
    const gc0 = gcMs;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const base = last && !flags.full ? { layout: last.layout, reader: SnapshotImageReader.open(last.file, 0, last.layout.imageBytes) } : undefined;
    const enc = store.streamSnapshot(1 << 20, base, flags.deltas ? since : undefined);
    const file = path.join(dir, `image-${b}`);
    const fd = fs.openSync(file, 'w');
    let bytes = 0;
    for (;;) {
      const done = enc.step(1024);
      const chunk = enc.takeChunk();
      if (chunk) {
        fs.writeSync(fd, chunk);
        bytes += chunk.length;
      }
      if (done && enc.done) break;
    }
    fs.closeSync(fd);
    enc.close();
    if (flags.deltas) {
      chain.push(file);
      since = enc.deltaBase;
    } else {
      if (last) fs.rmSync(last.file);
      last = { layout: enc.layout!, file };
    }
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    await new Promise((r) => setImmediate(r));
    const revs = store.stats().revisions;
    console.log(
      `encode ${b}: ${revs.toLocaleString('en')} revisions, ${(bytes / 2 ** 20).toFixed(0)} MiB (${(enc.copied / 2 ** 20).toFixed(0)} MiB copied): wall ${ms.toFixed(0)} ms, ` +
        `cpu ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms, ${((ms * 1000) / revs).toFixed(2)} us/revision, gc ${(gcMs - gc0).toFixed(0)} ms${enc.delta ? ' (delta)' : ''}`,
    );
  }
  if (flags.deltas && chain.length > 1) {
    const t0 = performance.now();
    const images = chain.map((f) => fs.readFileSync(f));
    const read = performance.now() - t0;
    const whole = mergeImages(images[0], images.slice(1));
    const ms = performance.now() - t0;
    console.log(
      `merge of 1 whole + ${chain.length - 1} delta files (${(images.reduce((n, b) => n + b.length, 0) / 2 ** 20).toFixed(0)} MiB read) into ${(whole.length / 2 ** 20).toFixed(0)} MiB: ` +
        `read ${read.toFixed(0)} ms, merged ${(ms - read).toFixed(0)} ms, in all ${ms.toFixed(0)} ms`,
    );
    if (!Buffer.from(whole).equals(Buffer.from(store.snapshot()))) throw new Error('the merged chain differs from snapshot()');
    // As a leader reading the chain back for a follower merges it (item 39): in slices, the loop free between them.
    const wrapped = images.map((img) => encodeSnapshot(new Uint8Array(0), img));
    let longest = 0;
    let turns = 0;
    let last = performance.now();
    let merging = true;
    const tick = () => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
      turns++;
      if (merging) setImmediate(tick);
    };
    const t1 = performance.now();
    setImmediate(tick);
    const sliced = await mergeSnapshotDataInSlices(wrapped[0], wrapped.slice(1));
    merging = false;
    const slicedMs = performance.now() - t1;
    const crcStart = performance.now();
    for (const img of images) zlib.crc32(img);
    console.log(
      `the same merge in slices of ${MERGE_SLICE_MS} ms: ${slicedMs.toFixed(0)} ms in all, the loop held at most ${longest.toFixed(1)} ms at a time (${turns} turns); ` +
        `a storage's check of the files' own checksums, still in one piece per file: ${(performance.now() - crcStart).toFixed(0)} ms`,
    );
    if (!Buffer.from(decodeEnvelope(sliced).kv).equals(Buffer.from(whole))) throw new Error('the chain merged in slices differs');
  }
} finally {
  await spill.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
