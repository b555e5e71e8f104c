// Public surface of replica/storage: the durable write-ahead log and snapshot
// files of one replica. Everything else in this folder is internal; reach it only
// through here. See README.md for the on-disk format and the recovery rules.
export { openStorage, isInitialized, snapshotDue, DiskStorage, DEFAULT_SEGMENT_BYTES, DEFAULT_KEEP_SNAPSHOTS, MAX_ENTRY_DATA } from './disk-storage.ts';
export type { OpenedStorage } from './disk-storage.ts';
export { DataLengthMismatchError, lengthRangeUsable } from './snapshot-file.ts';
export type { StreamedSnapshotFile } from './snapshot-file.ts';
export { FileSpill, openValueSpill } from './value-spill.ts';
export { SnapshotImageReader } from './image-reader.ts';
export type { FileSpillOptions, FileSpillStats } from './value-spill.ts';
export type { StorageIds, StorageOptions, RecoveredState, WalStats } from './types.ts';
export {
  WalCorruptError,
  SnapshotCorruptError,
  DataDirMismatchError,
  DataDirLockedError,
  StorageFailedError,
  StorageMisuseError,
} from './errors.ts';
