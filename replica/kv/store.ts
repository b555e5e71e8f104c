// KvStore is the replicated state machine: an etcd-compatible MVCC key-value
// store that every member feeds the same committed log entries in the same
// order. It tracks the applied log index, records a state digest every N
// applied indices (the checkpoints members compare to spot a diverged member),
// answers reads, and snapshots / restores itself.
// It must never do I/O (beyond the ValueSpill it is given, which may keep
// values in a file), read a clock or draw random numbers, and apply must
// never depend on anything but the store's state and the entry: two members
// that applied the same entries hold byte-identical snapshots.
import { decodeCommand } from './codec.ts';
import { KvError, invalidArgument } from './errors.ts';
import { toLatin1 } from './keys.ts';
import { Keyspace } from './mvcc.ts';
import { KEEP_IN_MEMORY, spilledLength, type ValueSpill } from './spill.ts';
import { SnapshotEncoder, decodeSnapshot } from './snapshot.ts';
import type { DeltaBase, SnapshotBase, SnapshotSource } from './snapshot.ts';
import { applyCompaction, applyDeleteRange, applyPut, applyTxn, readRange } from './txn.ts';
import type { Checkpoint, HashKVResult, KvCommand, KvResult, RangeRequest, RangeResponse } from './types.ts';
import { checkCommand, checkRange } from './validate.ts';

/** KeyspaceTag identifies the state a snapshot layout was made from: a keyspace, and how many of its history arrays had been replaced then. */
interface KeyspaceTag {
  keyspace: Keyspace;
  replacements: number;
}

/** KvStoreOptions must be identical on every member of a group. */
export interface KvStoreOptions {
  /** checkpointInterval N: a checkpoint is recorded at every applied index that is a multiple of N. Default 1000. */
  checkpointInterval?: number;
  /** checkpointsKept K: how many of the most recent checkpoints are kept. Default 8. */
  checkpointsKept?: number;
  /**
   * spill takes the values of revisions that are no longer their key's head
   * out of the heap (spill.ts; the server gives a file-backed one). Default:
   * everything stays in memory. Never changes what the store answers.
   */
  spill?: ValueSpill;
}

export const DEFAULT_CHECKPOINT_INTERVAL = 1000;
export const DEFAULT_CHECKPOINTS_KEPT = 8;

/** StoreStats summarises the store's size, for status reports and metrics. */
export interface StoreStats {
  /** keys held in the index, including deleted keys whose history is not yet compacted. */
  keys: number;
  /** liveKeys exist at the current revision. */
  liveKeys: number;
  /** revisions held across all histories. */
  revisions: number;
  /** sizeBytes approximates the bytes of data held (keys, values, bookkeeping). */
  sizeBytes: number;
}

export class KvStore {
  private readonly spill: ValueSpill;
  private ks: Keyspace;
  private applied = 0;
  private recent: Checkpoint[] = [];
  readonly checkpointInterval: number;
  readonly checkpointsKept: number;

  constructor(options: KvStoreOptions = {}) {
    this.spill = options.spill ?? KEEP_IN_MEMORY;
    this.ks = new Keyspace(this.spill);
    this.checkpointInterval = options.checkpointInterval ?? DEFAULT_CHECKPOINT_INTERVAL;
    this.checkpointsKept = options.checkpointsKept ?? DEFAULT_CHECKPOINTS_KEPT;
    if (!Number.isSafeInteger(this.checkpointInterval) || this.checkpointInterval < 1) {
      throw new Error(`kv store: checkpointInterval must be a positive integer, got ${options.checkpointInterval}`);
    }
    if (!Number.isSafeInteger(this.checkpointsKept) || this.checkpointsKept < 1) {
      throw new Error(`kv store: checkpointsKept must be a positive integer, got ${options.checkpointsKept}`);
    }
  }

  /** appliedIndex is the log index of the last entry applied (or advanced over). */
  get appliedIndex(): number {
    return this.applied;
  }

  /** revision is the store's current revision (1 when empty, like etcd). */
  get revision(): number {
    return this.ks.currentRevision;
  }

  /** compactRevision is the last compaction's revision, -1 if never compacted (etcd's convention). */
  get compactRevision(): number {
    return this.ks.compactRevision;
  }

  /** digest is the current state digest (16 hex digits); see digest.ts. */
  digest(): string {
    return this.ks.digest.hex();
  }

  /** checkpoints returns the last K checkpoints, oldest first. */
  checkpoints(): Checkpoint[] {
    return this.recent.map((cp) => ({ ...cp }));
  }

  /** lastCheckpoint is the newest checkpoint, if any. */
  lastCheckpoint(): Checkpoint | null {
    const cp = this.recent[this.recent.length - 1];
    return cp ? { ...cp } : null;
  }

  stats(): StoreStats {
    return {
      keys: this.ks.index.size,
      liveKeys: this.ks.index.liveCount,
      revisions: this.ks.revisions,
      sizeBytes: this.ks.sizeBytes,
    };
  }

  /**
   * apply applies the committed command at log index `index` (which must be
   * above the applied index) and returns its result. A request the state
   * rejects (compacted revision, missing key for ignore_value, ...) is an
   * `error` result with the state untouched; it still consumes the index.
   */
  apply(index: number, command: KvCommand): KvResult {
    this.checkIndex(index, true);
    this.passCheckpoints(index - 1);
    const result = this.execute(command);
    this.passCheckpoints(index);
    return result;
  }

  /**
   * applyEntry decodes and applies the data of a committed normal log entry.
   * Bytes that are not a command (which the proposing member should never
   * have let through) give the same `error` result on every member instead of
   * stopping the group; the index is consumed either way.
   */
  applyEntry(index: number, data: Uint8Array): KvResult {
    let command: KvCommand;
    try {
      command = decodeCommand(data);
    } catch (err) {
      this.checkIndex(index, true);
      this.passCheckpoints(index);
      return { kind: 'error', requestId: 0, error: invalidArgument((err as Error).message) };
    }
    return this.apply(index, command);
  }

  /**
   * advanceTo moves the applied index over log entries that are not KV
   * commands (raft no-ops, configuration changes), recording the checkpoints
   * they cross, so every member checkpoints at the same indices whatever the
   * entry types. An index equal to the applied index is a no-op.
   */
  advanceTo(index: number): void {
    this.checkIndex(index, false);
    this.passCheckpoints(index);
  }

  /** range reads the current state (or a past revision); throws KvError for compacted/future revisions and bad requests. */
  range(req: RangeRequest): RangeResponse {
    checkRange(req);
    return readRange(this.ks, req);
  }

  /**
   * hashKV is etcd's HashKV: a hash of the MVCC history up to `revision`
   * (0 = current). Throws KvError for a compacted or future revision.
   */
  hashKV(revision = 0): HashKVResult {
    const current = this.ks.currentRevision;
    if (revision > current) throw new KvError('futureRevision');
    if (revision > 0 && revision < this.ks.compactRevision) throw new KvError('compacted');
    const at = revision > 0 ? revision : current;
    return { hash: this.ks.hashKV(at), compactRevision: this.ks.compactRevision, hashRevision: at, revision: current };
  }

  /**
   * snapshot serialises the whole state (see snapshot.ts for the format). With
   * `headroom`, the buffer starts with that many bytes left for the caller's
   * own header, and the image follows (no copy needed to wrap it).
   */
  snapshot(headroom = 0): Uint8Array {
    return this.beginSnapshot(headroom).encodeAll();
  }

  /**
   * beginSnapshot captures the state as it is now (applied index, revisions,
   * checkpoints, and a copy of the key index: every key with its history
   * array, O(keys) array copies, no revision copied) and returns an encoder
   * that writes exactly that state in steps while the store goes on applying
   * entries in between: histories are only appended to (by revisions after
   * the captured one, which the encoder leaves out), and compaction, restore
   * and corruptValue replace arrays instead of changing them (see History in
   * mvcc.ts). The image is byte-identical to snapshot() called now.
   */
  beginSnapshot(headroom = 0): SnapshotEncoder {
    return new SnapshotEncoder(this.captureSource(), headroom);
  }

  /**
   * streamSnapshot captures the state as beginSnapshot does and returns an
   * encoder that hands the image out in chunks of about `chunkBytes` (see
   * SnapshotEncoder): the bytes of snapshot() taken now, never whole in memory.
   * With `base` (an image an earlier streamSnapshot of this store wrote: its
   * encoder's layout, and a reader of it), the revisions it holds are copied
   * from it instead of encoded again, when it is of this keyspace as it is
   * now (no restore, compaction or rewritten value since; else it is closed
   * and not used). The bytes are the same either way.
   * With `since` (an earlier encoder's deltaBase) the image is a delta of
   * the revisions after that capture (SnapshotEncoder.delta), when that
   * capture was of this keyspace as it is now (else `since` is ignored and
   * the image is whole); a delta copies nothing from `base`.
   */
  streamSnapshot(chunkBytes: number, base?: SnapshotBase, since?: DeltaBase): SnapshotEncoder {
    if (!(chunkBytes > 0)) throw new Error(`kv: streamSnapshot needs a positive chunk size, got ${chunkBytes}`);
    let source: SnapshotSource;
    try {
      source = this.captureSource();
    } catch (e) {
      base?.reader.close();
      throw e;
    }
    const now = source.tag as KeyspaceTag;
    const same = (t: unknown): boolean => (t as KeyspaceTag | undefined)?.keyspace === this.ks && (t as KeyspaceTag).replacements === now.replacements;
    if (since && same(since.tag) && since.compactRevision === source.compactRevision && since.revision <= source.currentRevision) {
      source.since = since;
      base?.reader.close();
    } else if (base && same(base.layout.tag)) source.base = base;
    else base?.reader.close();
    return new SnapshotEncoder(source, 0, chunkBytes);
  }

  private captureSource(): SnapshotSource {
    const ks = this.ks;
    const { revision, keys, histories, totals, replacements, release } = ks.capture();
    const tag: KeyspaceTag = { keyspace: ks, replacements };
    return {
      tag,
      appliedIndex: this.applied,
      currentRevision: revision,
      compactRevision: this.ks.compactRevision,
      checkpoints: this.checkpoints(),
      keyChunks: keys,
      historyChunks: histories,
      totals,
      spilled: {
        length: (slot) => spilledLength(ks.spillRef(slot)),
        copyInto: (slot, into, at) => ks.spill.copyInto(ks.spillRef(slot), into, at),
      },
      release,
      // Only while this keyspace is the store's: after a restore its values are no longer referred to.
      settled: (key, history) => {
        if (this.ks === ks) ks.spillSettled(key, history, replacements);
      },
    };
  }

  /**
   * restore replaces the whole state with a snapshot's. A corrupt or invalid
   * snapshot throws an Error starting "kv snapshot:" and leaves the store as it was.
   */
  restore(bytes: Uint8Array): void {
    const contents = decodeSnapshot(bytes);
    // Nothing of the old keyspace is referred to from now on (an encoder that
    // captured it holds what it reads until it is closed).
    this.spill.retireAll();
    const ks = new Keyspace(this.spill);
    ks.load(contents.keys, contents.histories, contents.currentRevision, contents.compactRevision);
    this.ks = ks;
    this.applied = contents.appliedIndex;
    this.recent = contents.checkpoints.slice(-this.checkpointsKept);
  }

  /**
   * corruptValue is test-only fault injection: it changes one live key's stored
   * value on this member alone, bypassing the log, so this member's digest and
   * reads diverge from the group's. Returns false if the key does not exist.
   * Never call it outside fault-injection tests.
   */
  corruptValue(key: Uint8Array): boolean {
    const k = toLatin1(key);
    const rev = this.ks.current(k);
    if (!rev) return false;
    return this.ks.rewriteValue(k, `${this.ks.readValue(rev)}\u0000corrupted`);
  }

  /** verifyDigest recomputes the digest from the data (O(n)) and compares it with the running one. */
  verifyDigest(): boolean {
    return this.ks.recomputeDigest() === this.ks.digest.hex();
  }

  private execute(command: KvCommand): KvResult {
    const { requestId } = command;
    try {
      checkCommand(command, Infinity);
      switch (command.kind) {
        case 'put':
          return { kind: 'put', requestId, response: applyPut(this.ks, command.request) };
        case 'deleteRange':
          return { kind: 'deleteRange', requestId, response: applyDeleteRange(this.ks, command.request) };
        case 'txn':
          return { kind: 'txn', requestId, response: applyTxn(this.ks, command.request) };
        case 'compact':
          return { kind: 'compact', requestId, response: applyCompaction(this.ks, command.request) };
        default:
          throw new KvError('invalidArgument', `etcdserver: unknown command kind ${(command as { kind: unknown }).kind}`);
      }
    } catch (err) {
      if (err instanceof KvError) return { kind: 'error', requestId, error: err };
      throw err;
    }
  }

  private checkIndex(index: number, strict: boolean): void {
    if (!Number.isSafeInteger(index) || index < 0) throw new Error(`kv store: log index ${index} is not a valid index`);
    if (strict ? index <= this.applied : index < this.applied) {
      throw new Error(`kv store: log index ${index} is not after the applied index ${this.applied}`);
    }
  }

  /**
   * passCheckpoints moves the applied index up to `upTo` (if below), recording
   * a checkpoint for every multiple of N in (applied, upTo] (at most K of them:
   * older ones would be dropped anyway). The state is the same at all of them:
   * no command is applied in between.
   */
  private passCheckpoints(upTo: number): void {
    if (upTo <= this.applied) return;
    const n = this.checkpointInterval;
    const last = Math.floor(upTo / n) * n;
    if (last > this.applied && last > 0) {
      const first = Math.max(Math.floor(this.applied / n) * n + n, last - (this.checkpointsKept - 1) * n);
      const digest = this.ks.digest.hex();
      for (let index = first; index <= last; index += n) {
        this.recent.push({ index, revision: this.ks.currentRevision, digest });
      }
      if (this.recent.length > this.checkpointsKept) this.recent.splice(0, this.recent.length - this.checkpointsKept);
    }
    this.applied = upTo;
  }
}
