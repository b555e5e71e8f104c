// Streams this member's own snapshot into its file as it is encoded: the
// envelope (member table) first, then the KV image chunk by chunk from the
// encoder run in slices (sliced-encode.ts), through one reused buffer, so the
// image is never whole in memory. The file's head holds the data's length;
// the encoder's size range (from the store's totals) fixes how many bytes
// that length takes, and when the range cannot (its bounds straddle a varint
// size, or the image fell outside it) the encoder sizes the image exactly
// first. An encoder copying revisions from the image before (its base) whose
// reads fail, or prove the file damaged, starts over without it. The result
// is a finished, fsynced file under its temporary name (a delta file of the
// snapshot it is told to extend when the encoder writes a delta image):
// the member's loop commits it (DiskStorage.commitSnapshotFile) or aborts it.
// It owns the encoder and closes it once the stream settled (finished, failed
// or cancelled). It must never leave a temp file behind on failure or cancel,
// and never commit anything itself.
import { SnapshotBaseError, type DeltaBase, type ImageLayout, type SnapshotEncoder } from '../kv/index.ts';
import type { SnapshotMetadata } from '../raft/types.ts';
import { DataLengthMismatchError, lengthRangeUsable } from '../storage/index.ts';
import type { DiskStorage, StreamedSnapshotFile } from '../storage/index.ts';
import { encodeInSlices, type SlicedEncode, type SlicedEncodeStats } from './sliced-encode.ts';

/** SNAPSHOT_CHUNK_BYTES is the encoder's buffer: the most written at once, and what the file is flushed by. */
export const SNAPSHOT_CHUNK_BYTES = 1 << 20;

export interface OwnSnapshotStats extends SlicedEncodeStats {
  /** the data's length (envelope and image), once finished */
  bytes: number;
  /** the encoder sized the image exactly first (its totals could not fix the length's size) */
  sized: boolean;
  /** how many bytes of the image were copied from the image before, once finished */
  copiedBytes: number;
  /** why the base was dropped and the image encoded from the store after all, if it was */
  baseDropped?: string;
}

export interface OwnSnapshotStream {
  /** settles (never rejects) once the file is finished, the stream failed, or it was cancelled */
  readonly done: Promise<void>;
  readonly finished: boolean;
  /** the finished file, fsynced under its temporary name: commit it or abort it */
  readonly file: StreamedSnapshotFile | undefined;
  /** what failed, if anything did */
  readonly error: unknown;
  readonly stats: OwnSnapshotStats;
  /** where the image put each key's revisions, once finished: the next own snapshot's base, with this file (not for a delta) */
  readonly layout: ImageLayout | undefined;
  /** the file is a delta of the snapshot it was told to extend (the encoder writes a delta image) */
  readonly delta: boolean;
  /** what a delta of a later capture may start after: this one's capture */
  readonly deltaBase: DeltaBase | undefined;
  /** cancel stops the encode before its next slice and removes the file (done then settles with no file). */
  cancel(): void;
}

/**
 * streamOwnSnapshot starts streaming, on the next turn of the event loop, the
 * snapshot `metadata` whose data is `envelope` then the encoder's image, and
 * calls `onFinished` once done settled (not after cancel).
 */
export function streamOwnSnapshot(
  disk: Pick<DiskStorage, 'beginSnapshotFile'>,
  metadata: SnapshotMetadata,
  envelope: Uint8Array,
  encoder: SnapshotEncoder,
  onFinished: () => void,
  chunkOptions: { sliceMs?: number; stepRevisions?: number; restFactor?: () => number; extend?: { index: number; term: number } } = {},
): OwnSnapshotStream {
  if (encoder.delta && !chunkOptions.extend) throw new Error('own snapshot: a delta image needs the snapshot it extends');
  const extend = encoder.delta ? chunkOptions.extend : undefined;
  const stats: OwnSnapshotStats = { slices: 0, busyMs: 0, longestSliceMs: 0, bytes: 0, sized: false, copiedBytes: 0 };
  let slices: SlicedEncode | undefined;
  let cancelled = false;
  const job = {
    done: undefined as unknown as Promise<void>,
    finished: false,
    file: undefined as StreamedSnapshotFile | undefined,
    error: undefined as unknown,
    stats,
    get layout(): ImageLayout | undefined {
      return job.finished && job.file ? encoder.layout : undefined;
    },
    delta: encoder.delta,
    deltaBase: encoder.deltaBase,
    cancel(): void {
      if (job.finished) return;
      cancelled = true;
      slices?.cancel();
    },
  };
  const dataRange = (): { min: number; max: number } | undefined => {
    const r = encoder.sizeRange;
    return r && { min: envelope.length + r.min, max: envelope.length + r.max };
  };
  /** one encode into one file: the finished file, or undefined when cancelled */
  const attempt = async (): Promise<StreamedSnapshotFile | undefined> => {
    const range = dataRange();
    if (!range || !lengthRangeUsable(range)) {
      encoder.sizeExactly();
      stats.sized = true;
    }
    let file: StreamedSnapshotFile | undefined;
    const write = async (chunk: Uint8Array): Promise<void> => {
      if (!file) {
        // The first chunk comes after any sizing pass: the range is final now.
        file = await disk.beginSnapshotFile(metadata, dataRange()!, extend);
        await file.append(envelope);
      }
      await file.append(chunk);
    };
    slices = encodeInSlices(encoder, write, chunkOptions.sliceMs, chunkOptions.stepRevisions, stats, chunkOptions.restFactor);
    await slices.done;
    if (slices.error !== undefined || !slices.complete) {
      await file?.abort();
      if (slices.error !== undefined) throw slices.error;
      return undefined; // cancelled
    }
    await file!.finish();
    return file;
  };
  job.done = (async () => {
    try {
      let file: StreamedSnapshotFile | undefined;
      let resized = false;
      for (;;) {
        try {
          file = await attempt();
          break;
        } catch (e) {
          if (cancelled) throw e;
          if (e instanceof SnapshotBaseError && encoder.usesBase) {
            // The image before is not what its layout says (its file damaged since): encode everything from the store.
            encoder.dropBase();
            stats.baseDropped = e.message;
          } else if (e instanceof DataLengthMismatchError && !resized) {
            // The totals' range did not hold (it always should): size exactly, write again.
            encoder.sizeExactly();
            stats.sized = true;
            resized = true;
          } else {
            throw e;
          }
        }
      }
      if (file && cancelled) {
        await file.abort();
        file = undefined;
      }
      if (file) {
        stats.bytes = file.bytes;
        stats.copiedBytes = encoder.copied;
      }
      job.file = file;
    } catch (e) {
      job.error = e ?? new Error('own snapshot failed');
    }
    encoder.close(); // whatever became of it, nothing reads the capture any more
    job.finished = true;
    if (!cancelled) onFinished();
  })();
  return job;
}

/** What the loop does with a finished own snapshot stream (see ownSnapshotVerdict). */
export type OwnSnapshotVerdict = 'drop-stale' | 'fail' | 'cancelled' | 'commit';

/**
 * ownSnapshotVerdict decides, back in the loop, what becomes of an own
 * snapshot captured at `applied` whose stream settled. Staleness is asked
 * first: a snapshot from the leader installed meanwhile (the member's newest
 * snapshot index at or past `applied`, or its log starting after it) makes
 * this one worthless, and may be the very reason the stream failed (the
 * storage refuses to start a file older than a snapshot it saved), so that
 * failure is no reason to stop the member. Otherwise a failure is fatal, a
 * cancelled stream (the member is stopping) is left alone, and a finished
 * file is committed.
 */
export function ownSnapshotVerdict(s: { applied: number; lastSnapshotIndex: number; firstIndex: number; failed: boolean; finished: boolean }): OwnSnapshotVerdict {
  if (s.lastSnapshotIndex >= s.applied || s.applied < s.firstIndex - 1) return 'drop-stale';
  if (s.failed) return 'fail';
  if (!s.finished) return 'cancelled';
  return 'commit';
}
