// Test helpers for replica/storage: temp data dirs that are removed afterwards,
// deterministic entry payloads (so a recovered entry can be checked against the
// index and term alone), and file surgery (truncate, zero, flip a byte).
// Test-only: must never be imported by production code.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import type { Entry, Snapshot } from '../../raft/types.ts';
import { emptyConfState } from '../../raft/types.ts';
import { readFrame } from '../frame.ts';

/** tempDataDir makes a fresh dir under os.tmpdir() that is removed when the test ends. */
export function tempDataDir(t: TestContext, label = 'wal'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `replicant-${label}-`));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** payload is the deterministic data of the entry at (index, term), `size` bytes, never all zero. */
export function payload(index: number, term: number, size = 300): Uint8Array {
  const out = new Uint8Array(size);
  let x = (index * 2654435761 + term * 40503 + 1) >>> 0;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = (x & 0xff) | 1;
  }
  return out;
}

export function entry(index: number, term: number, size = 300): Entry {
  return { index, term, type: 'normal', data: payload(index, term, size) };
}

export function entries(from: number, to: number, term: number, size = 300): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term, size));
  return out;
}

export function snapshotAt(index: number, term: number, size = 64): Snapshot {
  const confState = emptyConfState();
  confState.voters = [1, 2, 3];
  return { metadata: { index, term, confState }, data: payload(index, term + 1000, size) };
}

export function walDir(dataDir: string): string {
  return path.join(dataDir, 'member', 'wal');
}

export function snapDir(dataDir: string): string {
  return path.join(dataDir, 'member', 'snap');
}

/** segments lists the WAL segment paths of a data dir, oldest first. */
export function segments(dataDir: string): string[] {
  return fs
    .readdirSync(walDir(dataDir))
    .filter((n) => n.endsWith('.wal'))
    .sort()
    .map((n) => path.join(walDir(dataDir), n));
}

export function flipByte(file: string, offset: number): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, offset);
    b[0] ^= 0x5a;
    fs.writeSync(fd, b, 0, 1, offset);
  } finally {
    fs.closeSync(fd);
  }
}

export function zeroFrom(file: string, offset: number, end?: number): void {
  const size = fs.statSync(file).size;
  const stop = end ?? size;
  const fd = fs.openSync(file, 'r+');
  try {
    fs.writeSync(fd, Buffer.alloc(stop - offset), 0, stop - offset, offset);
  } finally {
    fs.closeSync(fd);
  }
}

/** sameEntry compares two entries field by field, data included. */
export function sameEntry(a: Entry, b: Entry): boolean {
  return a.index === b.index && a.term === b.term && a.type === b.type && Buffer.from(a.data).equals(Buffer.from(b.data));
}

/** recordSpans walks a segment's good frames: where each record starts and how long it is (header included). */
export function recordSpans(file: string): { offset: number; length: number }[] {
  const buf = fs.readFileSync(file);
  const out: { offset: number; length: number }[] = [];
  let off = 0;
  for (;;) {
    const f = readFrame(buf, off);
    if (f.kind !== 'record') return out;
    out.push({ offset: off, length: f.next - off });
    off = f.next;
  }
}

/** dirFingerprint hashes every file (name and bytes) under dir, to show a refused open changed nothing. */
export function dirFingerprint(dir: string): string {
  const parts: string[] = [];
  const walk = (d: string): void => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      if (fs.statSync(p).isDirectory()) walk(p);
      else parts.push(`${path.relative(dir, p)}:${createHash('sha256').update(fs.readFileSync(p)).digest('hex')}`);
    }
  };
  walk(dir);
  return parts.join('\n');
}
