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
    if (bytesWritten <= 0) throw new Error(`write made no progress at position ${position}`);
    position += bytesWritten;
    total += bytesWritten;
    let skip = bytesWritten;
    while (bufs.length > 0 && skip >= bufs[0].length) {
      skip -= bufs[0].length;
      bufs.shift();
    }
    if (skip > 0) bufs[0] = bufs[0].subarray(skip);
  }
  return total;
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
 * writeFileAtomic writes buffers to `<file>.tmp`, fsyncs it, renames it over
 * `file` and fsyncs the directory: after a crash the file is either absent (or
 * its previous version) or complete, never partial.
 */
export async function writeFileAtomic(file: string, buffers: readonly Uint8Array[]): Promise<void> {
  const tmp = `${file}.tmp`;
  const fh = await fsp.open(tmp, 'w', 0o600);
  try {
    await writeAll(fh, buffers, 0);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await fsp.rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
  await fh.close();
  await fsp.rename(tmp, file);
  await fsyncDir(path.dirname(file));
}
