// Small file-system helpers the durability rules depend on: write every byte
// (a short write is retried, never ignored), fsync a directory so a create,
// rename or unlink in it survives a crash, and atomic whole-file replacement.
// Must never swallow an I/O error: callers decide whether it is fatal.
import fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import fsp from 'node:fs/promises';
import path from 'node:path';

/** writeAll writes the buffers back to back at position, retrying short writes. */
export async function writeAll(fh: FileHandle, buffers: readonly Uint8Array[], position: number): Promise<number> {
  let total = 0;
  let bufs: Uint8Array[] = buffers.filter((b) => b.length > 0);
  while (bufs.length > 0) {
    const { bytesWritten } = bufs.length === 1 ? await fh.write(bufs[0], 0, bufs[0].length, position) : await fh.writev(bufs, position);
    bufs = dropWritten(bufs, bytesWritten, position);
    position += bytesWritten;
    total += bytesWritten;
  }
  return total;
}

/**
 * writeAllSync is writeAll with synchronous calls on the caller's thread: no
 * trip through libuv's thread pool, at the price of blocking until the kernel
 * took the bytes.
 */
export function writeAllSync(fd: number, buffers: readonly Uint8Array[], position: number): number {
  let total = 0;
  let bufs: Uint8Array[] = buffers.filter((b) => b.length > 0);
  while (bufs.length > 0) {
    const bytesWritten = bufs.length === 1 ? fs.writeSync(fd, bufs[0], 0, bufs[0].length, position) : fs.writevSync(fd, bufs, position);
    bufs = dropWritten(bufs, bytesWritten, position);
    position += bytesWritten;
    total += bytesWritten;
  }
  return total;
}

/** dropWritten returns what is left of `bufs` after a write of n bytes at position (which must have progressed). */
function dropWritten(bufs: Uint8Array[], n: number, position: number): Uint8Array[] {
  if (n <= 0) throw new Error(`write made no progress at position ${position}`);
  let skip = n;
  while (bufs.length > 0 && skip >= bufs[0].length) {
    skip -= bufs[0].length;
    bufs.shift();
  }
  if (skip > 0) bufs[0] = bufs[0].subarray(skip);
  return bufs;
}

/** fsyncDir makes the directory's entries (creates, renames, unlinks) durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsyncDirSync is fsyncDir for the synchronous open path. */
export function fsyncDirSync(dir: string): void {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * PACED_SYNC_BYTES: writeFileAtomic flushes a large file to disk every this
 * many bytes. Written at once, a snapshot of tens of MB sits dirty in the page
 * cache and its one fsync queues all of it on the disk ahead of the WAL's
 * fdatasyncs: on the benchmark machine a WAL fdatasync took up to 36-216 ms
 * while a 50 MiB file was written and fsynced at once, 5-11 ms with a
 * fdatasync every 1 MiB (docs/benchmarks.md, Optimisations, item 17).
 */
export const PACED_SYNC_BYTES = 1 << 20;

/**
 * paced splits buffers (as views, no copy) into consecutive groups of at
 * most `max` bytes each, in order; empty buffers are left out.
 */
export function paced(buffers: readonly Uint8Array[], max: number): Uint8Array[][] {
  if (!(max > 0)) throw new RangeError(`paced: max must be positive, got ${max}`);
  const groups: Uint8Array[][] = [];
  let group: Uint8Array[] = [];
  let room = max;
  for (const b of buffers) {
    for (let at = 0; at < b.length; ) {
      const n = Math.min(room, b.length - at);
      group.push(at === 0 && n === b.length ? b : b.subarray(at, at + n));
      at += n;
      room -= n;
      if (room === 0) {
        groups.push(group);
        group = [];
        room = max;
      }
    }
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/**
 * writeFileAtomic writes buffers to `<file>.tmp` (flushing every
 * PACED_SYNC_BYTES on the way), fsyncs it, renames it over `file` and fsyncs
 * the directory: after a crash the file is either absent (or its previous
 * version) or complete, never partial.
 */
export async function writeFileAtomic(file: string, buffers: readonly Uint8Array[]): Promise<void> {
  const tmp = `${file}.tmp`;
  const fh = await fsp.open(tmp, 'w', 0o600);
  try {
    const groups = paced(buffers, PACED_SYNC_BYTES);
    let position = 0;
    for (let i = 0; i < groups.length; i++) {
      position += await writeAll(fh, groups[i], position);
      if (i < groups.length - 1) await fh.datasync();
    }
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await fsp.rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
  await fh.close();
  await renameDurable(tmp, file);
}

/** renameDurable renames a complete, fsynced file into place and fsyncs the directory. */
export async function renameDurable(tmp: string, file: string): Promise<void> {
  await fsp.rename(tmp, file);
  await fsyncDir(path.dirname(file));
}
