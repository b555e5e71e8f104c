// The shapes the storage package exchanges with its host (the replica server).
// Plain data only: must never hold behaviour.
import type { Entry, HardState, Snapshot } from '../raft/types.ts';

/** StorageIds names whose data dir this is; a dir of another cluster or member refuses to open. */
export interface StorageIds {
  clusterId: number;
  memberId: number;
}

export interface StorageOptions {
  /** A segment is cut once it holds at least this many bytes. Default 64 MiB. */
  segmentBytes?: number;
  /**
   * Fill each new segment with zeros up front (in the background), so appends do
   * not grow the file and fdatasync need not commit metadata. Default true.
   */
  preallocate?: boolean;
  /**
   * durableWrites: how a synced round is made durable. 'fdatasync' (the
   * default): write, then fdatasync. 'o_dsync': when nothing unsynced precedes
   * it, one write through a descriptor opened with O_DSYNC (one thread-pool
   * trip instead of two); measured slower than the default on the benchmark's
   * shared disk (docs/benchmarks.md, item 15), so off unless asked for.
   */
  durableWrites?: 'fdatasync' | 'o_dsync';
  /** Snapshot files kept after a new one (at least 1); the WAL is kept from the oldest of them on. Default 2. */
  keepSnapshots?: number;
  /** Called with the duration of every WAL fsync, in seconds (for the fsync histogram). */
  onFsync?: (seconds: number) => void;
  /**
   * Lays delta snapshot files' data, oldest first, onto the whole data they extend (see
   * snapshot-chain.ts). Without it, a data dir holding delta files cannot
   * be opened (nothing in it is changed) and no delta file can be begun.
   */
  mergeSnapshotData?: MergeSnapshotData;
  /**
   * The same merge run so that it does not hold the event loop throughout
   * (in slices): readSnapshotAsync uses it when given (a leader reading a
   * chain back for a follower); recovery at open always merges at once.
   */
  mergeSnapshotDataInSlices?: MergeSnapshotDataAsync;
}

/**
 * MergeSnapshotData lays `deltas` (delta files' data, the first extending
 * `base`, each next one the one before) onto `base` (a whole file's data);
 * throws if they do not extend it so.
 */
export type MergeSnapshotData = (base: Uint8Array, deltas: Uint8Array[]) => Uint8Array;
/** MergeSnapshotDataAsync is the same merge run so that it does not hold the event loop throughout (in slices). */
export type MergeSnapshotDataAsync = (base: Uint8Array, deltas: Uint8Array[]) => Promise<Uint8Array>;

/** RecoveredState is everything the host needs to rebuild raft after a restart. */
export interface RecoveredState {
  hardState: HardState;
  /** the newest usable snapshot, if any; the host restores the state machine and raft's storage from it */
  snapshot?: Snapshot;
  /** the log after the snapshot (or from index 1), contiguous, conflicts already resolved */
  entries: Entry[];
}

/** WalStats are cumulative counters since open, for metrics and benchmarks. */
export interface WalStats {
  /** write syscall batches issued (one per group commit round) */
  writes: number;
  fsyncs: number;
  bytesWritten: number;
  /** save() calls accepted */
  saves: number;
  entriesWritten: number;
  /** segment files currently in the WAL directory */
  segments: number;
}
