// Errors the storage layer reports when a data dir cannot be used as it is.
// Every message is one line that names the file (and offset, for corruption)
// and says what to do, because the server prints it and exits non-zero.
// Must never be used for caller bugs (those throw StorageMisuseError) and must
// never carry more than one line of text.

/** WalCorruptError: a WAL record or file is damaged somewhere other than a torn tail; start is refused. */
export class WalCorruptError extends Error {
  readonly file: string;
  readonly offset: number;
  constructor(file: string, offset: number, reason: string) {
    super(
      `wal corrupt: ${file} offset ${offset}: ${reason}; refusing to start ` +
        `(no data was changed; restore this member from a snapshot or replace it with an empty one)`,
    );
    this.name = 'WalCorruptError';
    this.file = file;
    this.offset = offset;
  }
}

/** SnapshotCorruptError: a snapshot file the WAL needs is damaged or missing and no fallback is possible. */
export class SnapshotCorruptError extends Error {
  readonly file: string;
  constructor(file: string, reason: string) {
    super(`snapshot unusable: ${file}: ${reason}; refusing to start (no data was changed)`);
    this.name = 'SnapshotCorruptError';
    this.file = file;
  }
}

/** DataDirMismatchError: the data dir belongs to another cluster or member, or has another format version. */
export class DataDirMismatchError extends Error {
  readonly file: string;
  readonly offset: number | undefined;
  constructor(file: string, reason: string, offset?: number) {
    const where = offset === undefined ? file : `${file} offset ${offset}`;
    super(`data dir mismatch: ${where}: ${reason}; refusing to start (point --data-dir at this member's own dir)`);
    this.name = 'DataDirMismatchError';
    this.file = file;
    this.offset = offset;
  }
}

/** DataDirLockedError: another process (or this one) already has the data dir open. */
export class DataDirLockedError extends Error {
  readonly file: string;
  constructor(file: string, holder: string) {
    super(
      `data dir locked: ${file} is held by ${holder}; stop that process first ` +
        `(if no process uses the dir any more, delete the lock file)`,
    );
    this.name = 'DataDirLockedError';
    this.file = file;
  }
}

/** StorageFailedError: a write or fsync failed, so what is on disk is unknown; the member must restart. */
export class StorageFailedError extends Error {
  constructor(file: string, cause: unknown) {
    super(`wal unusable after a failed write or fsync of ${file}: ${describe(cause)}; restart the member`);
    this.name = 'StorageFailedError';
  }
}

/** StorageMisuseError: the caller broke a rule of the API (a bug in the host); nothing was written. */
export class StorageMisuseError extends Error {
  constructor(what: string) {
    super(`storage misuse: ${what} (nothing was written)`);
    this.name = 'StorageMisuseError';
  }
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message.replace(/\s*\n\s*/g, ' ') : String(cause);
}

/** hexId formats a cluster or member id the way etcd prints them. */
export function hexId(id: number): string {
  return id.toString(16);
}
