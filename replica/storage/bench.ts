// WAL write benchmark: entries/s and fsyncs/s for synced saves of batches of 1, 16
// and 256 entries of 300 bytes, one save at a time (the server loop's pattern) and
// with many concurrent single-entry savers (group commit), with and without
// preallocated segments; plus the raw fdatasync rate of this disk for reference.
// A tool, not a test: it writes under --dir (default os.tmpdir()) and removes it.
// Usage: node replica/storage/bench.ts [--seconds 3] [--dir DIR] [--entry-bytes 300] [--recovery-only]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Entry } from '../raft/types.ts';
import { openStorage } from './index.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    dir: { type: 'string', default: os.tmpdir() },
    'entry-bytes': { type: 'string', default: '300' },
    'recovery-only': { type: 'boolean', default: false },
  },
});
const seconds = Number(values.seconds);
const entryBytes = Number(values['entry-bytes']);
const ids = { clusterId: 1, memberId: 1 };

interface Result {
  name: string;
  entries: number;
  fsyncs: number;
  saves: number;
  elapsed: number;
  latencies: number[];
}

function makeEntries(first: number, n: number, data: Uint8Array): Entry[] {
  const out: Entry[] = [];
  for (let i = 0; i < n; i++) out.push({ index: first + i, term: 1, type: 'normal', data });
  return out;
}

function pct(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

async function sequential(batch: number, preallocate: boolean): Promise<Result> {
  const dir = fs.mkdtempSync(path.join(values.dir!, 'wal-bench-'));
  try {
    const { storage } = await openStorage(dir, ids, { preallocate });
    const data = new Uint8Array(entryBytes).fill(0x61);
    let next = 1;
    const latencies: number[] = [];
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    while (performance.now() < end) {
      const s = performance.now();
      await storage.save({ term: 1, vote: 1, commit: next - 1 }, makeEntries(next, batch, data), true);
      latencies.push(performance.now() - s);
      next += batch;
    }
    const elapsed = (performance.now() - t0) / 1000;
    const st = storage.stats();
    await storage.close();
    return { name: `batch ${batch}, sequential, prealloc ${preallocate ? 'on' : 'off'}`, entries: next - 1, fsyncs: st.fsyncs, saves: st.saves, elapsed, latencies };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function concurrent(savers: number, preallocate: boolean): Promise<Result> {
  const dir = fs.mkdtempSync(path.join(values.dir!, 'wal-bench-'));
  try {
    const { storage } = await openStorage(dir, ids, { preallocate });
    const data = new Uint8Array(entryBytes).fill(0x62);
    await storage.save({ term: 1, vote: 1, commit: 0 }, [], true);
    let next = 1;
    const latencies: number[] = [];
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    const saver = async (): Promise<void> => {
      while (performance.now() < end) {
        const s = performance.now();
        const index = next++;
        await storage.save(undefined, makeEntries(index, 1, data), true);
        latencies.push(performance.now() - s);
      }
    };
    await Promise.all(Array.from({ length: savers }, saver));
    const elapsed = (performance.now() - t0) / 1000;
    const st = storage.stats();
    await storage.close();
    return { name: `${savers} concurrent savers of 1 entry, prealloc ${preallocate ? 'on' : 'off'}`, entries: next - 1, fsyncs: st.fsyncs, saves: st.saves, elapsed, latencies };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** rawFdatasync: append entryBytes + 16 and fdatasync, nothing else, to show the disk's own limit. */
function rawFdatasync(preallocate: boolean): Result {
  const dir = fs.mkdtempSync(path.join(values.dir!, 'wal-bench-'));
  try {
    const file = path.join(dir, 'raw');
    const fd = fs.openSync(file, 'w');
    if (preallocate) {
      const z = Buffer.alloc(1 << 20);
      for (let i = 0; i < 64; i++) fs.writeSync(fd, z);
      fs.fsyncSync(fd);
    }
    const buf = Buffer.alloc(entryBytes + 16, 0x63);
    let pos = 0;
    let n = 0;
    const latencies: number[] = [];
    const t0 = performance.now();
    const end = t0 + seconds * 1000;
    while (performance.now() < end) {
      const s = performance.now();
      fs.writeSync(fd, buf, 0, buf.length, pos);
      fs.fdatasyncSync(fd);
      latencies.push(performance.now() - s);
      pos += buf.length;
      n++;
    }
    fs.closeSync(fd);
    const elapsed = (performance.now() - t0) / 1000;
    return { name: `raw write+fdatasync (no WAL), prealloc ${preallocate ? 'on' : 'off'}`, entries: n, fsyncs: n, saves: n, elapsed, latencies };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** recovery: time to reopen a WAL of `count` entries (what a restart costs before raft can start). */
async function recovery(count: number): Promise<void> {
  const dir = fs.mkdtempSync(path.join(values.dir!, 'wal-bench-'));
  try {
    const { storage } = await openStorage(dir, ids);
    const data = new Uint8Array(entryBytes).fill(0x64);
    for (let next = 1; next <= count; next += 256) {
      await storage.save({ term: 1, vote: 1, commit: next - 1 }, makeEntries(next, Math.min(256, count - next + 1), data), false);
    }
    await storage.save(undefined, [], true);
    const segments = storage.stats().segments;
    await storage.close();
    const t0 = performance.now();
    const r = await openStorage(dir, ids);
    const ms = performance.now() - t0;
    await r.storage.close();
    console.log(`recovery of ${r.state.entries.length} entries in ${segments} segment(s) of 64 MiB`.padEnd(52) + `  ${ms.toFixed(0)} ms`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function report(r: Result): void {
  const sorted = r.latencies.slice().sort((a, b) => a - b);
  console.log(
    [
      r.name.padEnd(52),
      `${Math.round(r.entries / r.elapsed)}`.padStart(9) + ' entries/s',
      `${Math.round(r.fsyncs / r.elapsed)}`.padStart(6) + ' fsyncs/s',
      `${(r.entries / Math.max(1, r.fsyncs)).toFixed(1)}`.padStart(7) + ' entries/fsync',
      `p50 ${pct(sorted, 0.5).toFixed(2)} ms`.padStart(14),
      `p99 ${pct(sorted, 0.99).toFixed(2)} ms`.padStart(14),
    ].join('  '),
  );
}

console.log(`WAL benchmark: ${entryBytes}-byte entries, ${seconds}s per case, dir ${values.dir}, node ${process.version}, ${os.cpus().length} cpus`);
const only = values['recovery-only'];
if (!only) for (const preallocate of [true, false]) {
  for (const batch of [1, 16, 256]) report(await sequential(batch, preallocate));
  report(await concurrent(64, preallocate));
  report(rawFdatasync(preallocate));
}
await recovery(200_000);
