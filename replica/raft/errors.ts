// Errors the consensus core reports to its host. Short, lowercase messages in
// the etcd-io/raft tradition; classes so callers can tell them apart.
// Never thrown for bugs: an invariant violation throws a plain Error instead.

/** ProposalDroppedError: the proposal was not appended (no leader, transfer in progress, removed leader...). */
export class ProposalDroppedError extends Error {
  constructor(reason: string) {
    super(`raft proposal dropped: ${reason}`);
    this.name = 'ProposalDroppedError';
  }
}

/** ConfChangeRejectedError: a configuration change was refused at proposal time; nothing was appended. */
export class ConfChangeRejectedError extends Error {
  constructor(reason: string) {
    super(`configuration change rejected: ${reason}`);
    this.name = 'ConfChangeRejectedError';
  }
}

/** CompactedError: the requested index is older than the first retained entry. */
export class CompactedError extends Error {
  constructor() {
    super('requested index is unavailable due to compaction');
    this.name = 'CompactedError';
  }
}

/** UnavailableError: the requested entries are not in storage (yet). */
export class UnavailableError extends Error {
  constructor() {
    super('requested entry at index is unavailable');
    this.name = 'UnavailableError';
  }
}

/** SnapshotOutOfDateError: a snapshot older than the current one was offered. */
export class SnapshotOutOfDateError extends Error {
  constructor() {
    super('requested index is older than the existing snapshot');
    this.name = 'SnapshotOutOfDateError';
  }
}

/** SnapshotTemporarilyUnavailableError: storage is preparing a snapshot; raft retries later. */
export class SnapshotTemporarilyUnavailableError extends Error {
  constructor() {
    super('snapshot is temporarily unavailable');
    this.name = 'SnapshotTemporarilyUnavailableError';
  }
}

/** invariant throws when a condition the core relies on does not hold: a bug, never an input error. */
export function invariant(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Error(`raft invariant violated: ${what}`);
}
