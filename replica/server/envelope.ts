// The byte formats the server puts into raft: the data of normal log entries
// (a KV command with its proposer, or a member publishing its attributes) and
// the snapshot payload (member table + KV snapshot). Versioned and checked on
// decode. Also lays delta snapshots' data onto the data they extend, at once
// or in slices between turns of the event loop. Must never change an
// existing kind's layout: logs outlive versions.
import { ImageMerge } from '../kv/index.ts';

const KIND_KV = 1;
const KIND_PUBLISH = 2;
const SNAPSHOT_MAGIC = 0x52504e31; // "RPN1"

export type EntryPayload =
  | { kind: 'kv'; proposer: number; command: Uint8Array }
  | { kind: 'publish'; id: number; name: string; clientURLs: string[] };

export function encodeKvEntry(proposer: number, command: Uint8Array): Uint8Array {
  const out = new Uint8Array(9 + command.length);
  out[0] = KIND_KV;
  new DataView(out.buffer).setFloat64(1, proposer);
  out.set(command, 9);
  return out;
}

/**
 * encodeKvEntries encodes a batch of KV commands proposed together, all into
 * one exact-size buffer: entry i is a view of it, with the bytes
 * encodeKvEntry(proposer, commands[i]) gives. A leader keeps every entry in
 * memory until the log is compacted past it (up to --snapshot-count + the
 * catch-up entries), and the entries of one batch are compacted together, so
 * one allocation per batch instead of one per entry saves an ArrayBuffer and
 * its backing-store bookkeeping per entry, and never pins bytes that outlive
 * their entries (the buffer holds nothing else). The commands are copied: a
 * command may be a view of a shared pool slab or of a request frame.
 */
export function encodeKvEntries(proposer: number, commands: readonly Uint8Array[]): Uint8Array[] {
  let total = 0;
  for (const c of commands) total += 9 + c.length;
  // a Buffer (every byte is written below), so the entries and what is decoded from them are Buffers too
  const buf = Buffer.allocUnsafeSlow(total);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: Uint8Array[] = new Array(commands.length);
  let at = 0;
  for (let i = 0; i < commands.length; i++) {
    const c = commands[i];
    buf[at] = KIND_KV;
    view.setFloat64(at + 1, proposer);
    buf.set(c, at + 9);
    out[i] = buf.subarray(at, at + 9 + c.length);
    at += 9 + c.length;
  }
  return out;
}

export function encodePublishEntry(id: number, name: string, clientURLs: string[]): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify({ id, name, clientURLs }));
  const out = new Uint8Array(1 + json.length);
  out[0] = KIND_PUBLISH;
  out.set(json, 1);
  return out;
}

export function decodeEntry(data: Uint8Array): EntryPayload {
  if (data.length === 0) throw new Error('empty entry');
  switch (data[0]) {
    case KIND_KV: {
      if (data.length < 9) throw new Error('truncated kv entry');
      const proposer = new DataView(data.buffer, data.byteOffset, data.byteLength).getFloat64(1);
      return { kind: 'kv', proposer, command: data.subarray(9) };
    }
    case KIND_PUBLISH: {
      const v: unknown = JSON.parse(new TextDecoder().decode(data.subarray(1)));
      if (typeof v !== 'object' || v === null) throw new Error('malformed publish entry: not a JSON object');
      const { id, name, clientURLs } = v as Record<string, unknown>;
      if (typeof id !== 'number' || !Number.isFinite(id)) throw new Error('malformed publish entry: id is not a number');
      if (clientURLs !== undefined && (!Array.isArray(clientURLs) || !clientURLs.every((u) => typeof u === 'string'))) {
        throw new Error('malformed publish entry: clientURLs is not a list of strings');
      }
      return { kind: 'publish', id, name: String(name), clientURLs: clientURLs ?? [] };
    }
    default:
      throw new Error(`unknown entry kind ${data[0]}`);
  }
}

/**
 * snapshotEnvelope is what goes before the KV image in raft's snapshot data:
 * the header and the member table. A member streams it, then the image, into
 * its snapshot file (own-snapshot.ts).
 */
export function snapshotEnvelope(members: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + members.length);
  const v = new DataView(out.buffer, out.byteOffset, out.byteLength);
  v.setUint32(0, SNAPSHOT_MAGIC);
  v.setUint32(4, members.length);
  out.set(members, 8);
  return out;
}

/** encodeSnapshot joins the member table and the KV snapshot into raft's snapshot data (the envelope, then the image). */
export function encodeSnapshot(members: Uint8Array, kv: Uint8Array): Uint8Array {
  const envelope = snapshotEnvelope(members);
  const out = new Uint8Array(envelope.length + kv.length);
  out.set(envelope, 0);
  out.set(kv, envelope.length);
  return out;
}

/**
 * mergeSnapshotData lays delta snapshots' data (each the member table as of
 * the delta, then a delta KV image), oldest first, onto the data they
 * extend (the storage's merge, see replica/storage/snapshot-chain.ts): the
 * newest delta's member table, then the KV images merged. Throws if they
 * do not fit together.
 */
export function mergeSnapshotData(base: Uint8Array, deltas: Uint8Array[]): Uint8Array {
  const { merge, envelope } = startMerge(base, deltas);
  merge.step(Infinity);
  const out = merge.result();
  out.set(envelope, 0);
  return out;
}

/** MERGE_SLICE_MS: how long one slice of mergeSnapshotDataInSlices may hold the loop (about). */
export const MERGE_SLICE_MS = 4;
/** MERGE_STEP_KEYS: keys merged between two looks at the clock. */
const MERGE_STEP_KEYS = 512;

/**
 * mergeSnapshotDataInSlices is mergeSnapshotData run a slice of about
 * `sliceMs` at a time, the loop free between slices: for a leader reading a
 * chain back for a follower while it serves (a 306 MiB state took 0.7 s in
 * one piece; docs/benchmarks.md, item 39).
 */
export async function mergeSnapshotDataInSlices(base: Uint8Array, deltas: Uint8Array[], sliceMs = MERGE_SLICE_MS): Promise<Uint8Array> {
  const { merge, envelope } = startMerge(base, deltas);
  for (;;) {
    const until = performance.now() + sliceMs;
    let complete: boolean;
    do complete = merge.step(MERGE_STEP_KEYS);
    while (!complete && performance.now() < until);
    if (complete) break;
    await new Promise((resolve) => setImmediate(resolve));
  }
  const out = merge.result();
  out.set(envelope, 0);
  return out;
}

function startMerge(base: Uint8Array, deltas: Uint8Array[]): { merge: ImageMerge; envelope: Uint8Array } {
  if (deltas.length === 0) throw new Error('no delta snapshot to lay onto the snapshot');
  const b = decodeSnapshot(base);
  const ds = deltas.map(decodeSnapshot);
  const envelope = snapshotEnvelope(ds[ds.length - 1].members);
  return { merge: new ImageMerge(b.kv, ds.map((d) => d.kv), envelope.length), envelope };
}

export function decodeSnapshot(data: Uint8Array): { members: Uint8Array; kv: Uint8Array } {
  if (data.length < 8) throw new Error('snapshot data too short');
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (v.getUint32(0) !== SNAPSHOT_MAGIC) throw new Error('snapshot data has an unknown format');
  const n = v.getUint32(4);
  if (8 + n > data.length) throw new Error('snapshot data truncated');
  return { members: data.subarray(8, 8 + n), kv: data.subarray(8 + n) };
}
