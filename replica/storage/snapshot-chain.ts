// Snapshot chains: a delta file (snapshot-file.ts, version 2) holds data that
// extends another file's, which may itself be a delta, down to a whole file
// (the chain's root). readSnapshotChain reads a snapshot through its chain and
// gives its whole data: the deltas, oldest first, laid onto the root's data
// in one call to the merge the storage's owner supplies (storage does not
// know the data's format). chainOf says which files a snapshot
// needs, from their heads alone, so the storage never deletes one still
// needed. Must never return data it could not verify link by link: each file
// checked as a whole, each link's checksum the one the delta names.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Snapshot } from '../raft/types.ts';
import { SnapshotCorruptError } from './errors.ts';
import { snapshotFileName } from './layout.ts';
import type { SnapshotFileParts, SnapshotRef } from './snapshot-file.ts';
import { decodeNamedSnapshotFile } from './snapshot-file.ts';
import type { MergeSnapshotData, MergeSnapshotDataAsync, StorageIds } from './types.ts';


/** MAX_CHAIN_FILES bounds a chain's length: a longer one is taken for a loop in damaged files. */
export const MAX_CHAIN_FILES = 256;

/** SnapshotLink is what the storage knows of one of its snapshot files: what it extends, if anything, and its checksum. */
export interface SnapshotLink {
  extends: SnapshotRef | undefined;
  crc: number;
}

/**
 * chainOf lists the files (by name) the snapshot named `name` needs: itself,
 * then each file it extends down to its root, as `links` describes them
 * (names it has no link for end the list: the chain is broken there).
 */
export function chainOf(name: string, links: ReadonlyMap<string, SnapshotLink>): string[] {
  const out: string[] = [];
  let at: string | undefined = name;
  while (at !== undefined && out.length < MAX_CHAIN_FILES && !out.includes(at)) {
    out.push(at);
    const base: SnapshotRef | undefined = links.get(at)?.extends;
    at = base ? snapshotFileName(base) : undefined;
  }
  return out;
}

/**
 * readSnapshotChain reads the snapshot at `m` (its file under snapDir) and,
 * for a delta file, every file down its chain, and returns the whole
 * snapshot. Throws SnapshotCorruptError naming the file at fault: damaged,
 * missing, not the checksum its delta names, or its data refused by `merge`
 * (then the delta's file is named); and when a delta must be read without a
 * merge. The tip's own file missing throws the file system's error.
 */
export function readSnapshotChain(snapDir: string, ids: StorageIds, m: { index: number; term: number }, merge?: MergeSnapshotData): Snapshot {
  const walk = walkChain(snapDir, ids, m, merge);
  let step = walk.next();
  while (!step.done) {
    let buf: Buffer;
    try {
      buf = fs.readFileSync(step.value);
    } catch (err) {
      step = walk.throw(err);
      continue;
    }
    step = walk.next(buf);
  }
  return finish(step.value, merge);
}

/**
 * readSnapshotChainAsync is readSnapshotChain with the files read off the
 * event loop and, given `mergeAsync`, the merge run through it (in slices);
 * each file's check still runs on the loop: for a host that must not hold
 * its loop while a large chain is read.
 */
export async function readSnapshotChainAsync(
  snapDir: string,
  ids: StorageIds,
  m: { index: number; term: number },
  merge?: MergeSnapshotData,
  mergeAsync?: MergeSnapshotDataAsync,
): Promise<Snapshot> {
  const walk = walkChain(snapDir, ids, m, merge);
  let step = walk.next();
  while (!step.done) {
    let buf: Buffer;
    try {
      buf = await fsp.readFile(step.value);
    } catch (err) {
      step = walk.throw(err);
      continue;
    }
    step = walk.next(buf);
  }
  const plan = step.value;
  if (!('root' in plan) || !mergeAsync) return finish(plan, merge);
  let data: Uint8Array;
  try {
    data = await mergeAsync(plan.root, plan.deltas);
  } catch (err) {
    throw notTogether(plan.tipFile, err);
  }
  return { metadata: plan.metadata, data };
}

/** ChainPlan is a checked chain: a whole file's snapshot as it is, or a root's data and its deltas' (oldest first) still to be merged. */
type ChainPlan = Snapshot | { metadata: Snapshot['metadata']; tipFile: string; root: Uint8Array; deltas: Uint8Array[] };

/** finish merges a plan's deltas onto its root with `merge` (the walk refused a delta without one). */
function finish(plan: ChainPlan, merge: MergeSnapshotData | undefined): Snapshot {
  if (!('root' in plan)) return plan;
  try {
    return { metadata: plan.metadata, data: merge!(plan.root, plan.deltas) };
  } catch (err) {
    throw notTogether(plan.tipFile, err);
  }
}

function notTogether(tipFile: string, err: unknown): SnapshotCorruptError {
  return new SnapshotCorruptError(tipFile, `its chain's data does not fit together (${(err as Error).message})`);
}

/** walkChain is the chain's reading and checking, asking its driver for each file's bytes (yield the path, get the bytes or the read's error). */
function* walkChain(snapDir: string, ids: StorageIds, m: { index: number; term: number }, merge?: MergeSnapshotData): Generator<string, ChainPlan, Buffer> {
  const tipFile = path.join(snapDir, snapshotFileName(m));
  const tip = decodeNamedSnapshotFile(tipFile, yield tipFile, ids, m);
  if (!tip.extends) return { metadata: tip.metadata, data: tip.data };
  if (!merge) throw new SnapshotCorruptError(tipFile, 'a delta snapshot file, but this storage was opened without a way to merge snapshot data');
  // deltas[0] is the tip; each next one the file the one before extends.
  const deltas: { file: string; parts: SnapshotFileParts }[] = [{ file: tipFile, parts: tip }];
  let root: SnapshotFileParts | undefined;
  while (!root) {
    const last = deltas[deltas.length - 1];
    const ref = last.parts.extends!;
    if (deltas.length >= MAX_CHAIN_FILES) throw new SnapshotCorruptError(last.file, `a chain of more than ${MAX_CHAIN_FILES} delta files`);
    const file = path.join(snapDir, snapshotFileName(ref));
    let bytes: Buffer;
    try {
      bytes = yield file;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new SnapshotCorruptError(last.file, `extends the snapshot at index ${ref.index} term ${ref.term}, whose file is missing`);
      }
      throw err;
    }
    const parts = decodeNamedSnapshotFile(file, bytes, ids, ref);
    if (parts.crc !== ref.crc) {
      throw new SnapshotCorruptError(file, `is not the file the delta ${path.basename(last.file)} extends (checksum ${hex(parts.crc)}, the delta names ${hex(ref.crc)})`);
    }
    if (parts.extends) deltas.push({ file, parts });
    else root = parts;
  }
  // All at once, oldest first: one pass that copies each byte once (folding them pairwise copied the growing result again and again).
  deltas.reverse();
  return { metadata: tip.metadata, tipFile, root: root.data, deltas: deltas.map((d) => d.parts.data) };
}

function hex(crc: number): string {
  return crc.toString(16).padStart(8, '0');
}
