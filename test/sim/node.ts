// One simulated member: a RawNode, the MemoryStorage standing for its disk,
// and a tiny state machine (a hash chain over applied commands). Crashing
// drops everything but the storage; wiping drops the storage too.
// Must never let state that was not persisted survive a crash.
import {
  MemoryStorage,
  RawNode,
  bootstrap,
  decodeConfChange,
  seededRand,
  type ConfState,
  type Entry,
  type NodeId,
  type Ready,
  type Snapshot,
} from '../../replica/raft/index.ts';

export interface NodeTuning {
  electionTick: number;
  heartbeatTick: number;
  maxSizePerMsg: number;
  maxInflightMsgs: number;
  /** take a snapshot every this many applied entries (0: never) */
  snapshotEvery: number;
  /** entries kept in the log behind a snapshot for slow followers */
  keepAfterSnapshot: number;
}

/** AppState is the replicated state machine of the simulation: a digest chained over applied commands. */
export interface AppState {
  applied: number;
  digest: number;
  confState: ConfState;
}

export function encodeAppState(digest: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, digest >>> 0);
  return b;
}

function decodeAppState(data: Uint8Array): number {
  if (data.length === 0) return 0;
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0);
}

function chain(digest: number, data: Uint8Array): number {
  let h = (digest ^ 0x811c9dc5) >>> 0;
  for (let i = 0; i < data.length; i++) h = Math.imul(h ^ data[i], 16777619) >>> 0;
  return h;
}

export class SimNode {
  readonly id: NodeId;
  storage: MemoryStorage;
  raw: RawNode | undefined;
  app: AppState;
  /** phase offsets this member's ticks so members are not in lockstep. */
  readonly phase: number;
  private readonly seed: number;
  private readonly tuning: NodeTuning;
  private restarts = 0;

  constructor(id: NodeId, seed: number, tuning: NodeTuning, phase: number) {
    this.id = id;
    this.seed = seed;
    this.tuning = tuning;
    this.phase = phase;
    this.storage = new MemoryStorage();
    this.app = { applied: 0, digest: 0, confState: this.storage.snapshot().metadata.confState };
  }

  get up(): boolean {
    return this.raw !== undefined;
  }

  /** bootstrapAs makes this a founding member of a group of `voters`. */
  bootstrapAs(voters: NodeId[]): void {
    bootstrap(this.storage, voters, encodeAppState(0));
  }

  /** start (re)creates the RawNode from what the storage holds, like a process restart. */
  start(): void {
    const snap = this.storage.snapshot();
    this.app = { applied: snap.metadata.index, digest: decodeAppState(snap.data), confState: snap.metadata.confState };
    this.raw = new RawNode({
      id: this.id,
      storage: this.storage,
      applied: snap.metadata.index,
      electionTick: this.tuning.electionTick,
      heartbeatTick: this.tuning.heartbeatTick,
      maxSizePerMsg: this.tuning.maxSizePerMsg,
      maxInflightMsgs: this.tuning.maxInflightMsgs,
      checkQuorum: true,
      preVote: true,
      rand: seededRand((this.seed * 7919 + this.id * 104729 + this.restarts++ * 31) >>> 0),
    });
  }

  /** crash loses the RawNode and the application's memory; the storage (the disk) survives. */
  crash(): void {
    this.raw = undefined;
  }

  /** persist writes a Ready's durable parts to the storage, snapshot first. */
  persist(rd: Ready): void {
    if (rd.snapshot) this.storage.applySnapshot(rd.snapshot);
    this.storage.append(rd.entries);
    if (rd.hardState) this.storage.setHardState(rd.hardState);
  }

  /** restoreSnapshot replaces the application's state with a snapshot's. */
  restoreSnapshot(s: Snapshot): void {
    this.app = { applied: s.metadata.index, digest: decodeAppState(s.data), confState: s.metadata.confState };
  }

  /** apply runs one committed entry against the state machine; configuration changes reach raft. */
  apply(e: Entry): void {
    if (e.index !== this.app.applied + 1) {
      throw new Error(`node ${this.id} applies index ${e.index} after ${this.app.applied}`);
    }
    if (e.type === 'confChange') {
      this.app.confState = this.raw!.applyConfChange(decodeConfChange(e.data));
    } else if (e.data.length > 0) {
      this.app.digest = chain(this.app.digest, e.data);
    }
    this.app.applied = e.index;
  }

  /** maybeSnapshot takes a snapshot at the applied index and compacts the log behind it. */
  maybeSnapshot(): boolean {
    const t = this.tuning;
    if (t.snapshotEvery === 0) return false;
    const snapIndex = this.storage.snapshot().metadata.index;
    if (this.app.applied - snapIndex < t.snapshotEvery) return false;
    const image = encodeAppState(this.app.digest);
    this.storage.createSnapshot(this.app.applied, this.app.confState, image);
    // As the server does once the snapshot file is durable: raft gets the image back from a loader when it sends it.
    this.storage.releaseSnapshotData(this.app.applied, () => image.slice());
    const compactTo = this.app.applied - t.keepAfterSnapshot;
    if (compactTo > this.storage.firstIndex() - 1) this.storage.compact(compactTo);
    return true;
  }

  /** termAt reads this member's log (durable and unstable) at `i`, or undefined if it has no entry there. */
  termAt(i: number): number | undefined {
    const log = this.raw?.raft.raftLog;
    if (!log) return this.persistedTermAt(i);
    if (i > log.lastIndex() || i < log.firstIndex() - 1) return undefined;
    try {
      return log.term(i);
    } catch {
      return undefined;
    }
  }

  /** persistedTermAt reads only the durable log. */
  persistedTermAt(i: number): number | undefined {
    const s = this.storage;
    if (i > s.lastIndex() || i < s.firstIndex() - 1) return undefined;
    try {
      return s.term(i);
    } catch {
      return undefined;
    }
  }
}
