// A small, fully scripted group of raft members for scenario tests in the
// style of etcd's interaction tests: every message is delivered (or dropped)
// explicitly, so each test reads as the sequence of events it asserts on.
// Must never introduce randomness beyond the members' own seeded timeouts.
import {
  MemoryStorage,
  RawNode,
  bootstrap,
  decodeConfChange,
  seededRand,
  type ConfChange,
  type ConfState,
  type Entry,
  type Message,
  type NodeId,
  type ReadState,
} from '../../replica/raft/index.ts';
import { copyMessage } from './network.ts';

export interface Member {
  id: NodeId;
  raw: RawNode;
  storage: MemoryStorage;
  applied: Entry[];
  confState: ConfState;
  readStates: ReadState[];
}

export class Group {
  readonly members = new Map<NodeId, Member>();
  /** messages sent and not yet delivered */
  inflight: Message[] = [];
  /** every message ever sent, for assertions */
  readonly sent: Message[] = [];
  private readonly cut = new Set<NodeId>();
  readonly electionTick = 10;
  private readonly maxSizePerMsg: number;

  /** maxSizePerMsg 1 sends one entry per append, which lets a test split a leader's appends apart. */
  constructor(voters: NodeId[], opts: { maxSizePerMsg?: number } = {}) {
    this.maxSizePerMsg = opts.maxSizePerMsg ?? 1024 * 1024;
    for (const id of voters) {
      const storage = new MemoryStorage();
      bootstrap(storage, voters, new Uint8Array());
      this.start(id, storage);
    }
  }

  private start(id: NodeId, storage: MemoryStorage): Member {
    const snap = storage.snapshot();
    const raw = new RawNode({
      id,
      storage,
      applied: snap.metadata.index,
      electionTick: this.electionTick,
      heartbeatTick: 1,
      maxSizePerMsg: this.maxSizePerMsg,
      checkQuorum: true,
      preVote: true,
      rand: seededRand(id),
    });
    const m: Member = { id, raw, storage, applied: [], confState: snap.metadata.confState, readStates: [] };
    this.members.set(id, m);
    return m;
  }

  /** addEmpty starts a brand-new member with no state (to be added by a configuration change). */
  addEmpty(id: NodeId): Member {
    return this.start(id, new MemoryStorage());
  }

  /** restart simulates a crash and restart: only the storage survives. */
  restart(id: NodeId): Member {
    const old = this.member(id);
    this.inflight = this.inflight.filter((m) => m.to !== id && m.from !== id);
    return this.start(id, old.storage);
  }

  member(id: NodeId): Member {
    const m = this.members.get(id);
    if (!m) throw new Error(`no member ${id}`);
    return m;
  }

  isolate(id: NodeId): void {
    this.cut.add(id);
  }

  heal(): void {
    this.cut.clear();
  }

  leaderId(): NodeId | undefined {
    let best: Member | undefined;
    for (const m of this.members.values()) {
      if (m.raw.raft.state === 'leader' && (!best || m.raw.raft.term > best.raw.raft.term)) best = m;
    }
    return best?.id;
  }

  /** process handles every pending Ready of a member: persist, send, apply, advance. */
  process(id: NodeId): boolean {
    const m = this.member(id);
    let any = false;
    while (m.raw.hasReady()) {
      any = true;
      const rd = m.raw.ready();
      if (rd.snapshot) {
        m.storage.applySnapshot(rd.snapshot);
        m.confState = rd.snapshot.metadata.confState;
      }
      m.storage.append(rd.entries);
      if (rd.hardState) m.storage.setHardState(rd.hardState);
      this.send(rd.messages);
      for (const e of rd.committedEntries) {
        if (e.type === 'confChange') m.confState = m.raw.applyConfChange(decodeConfChange(e.data));
        m.applied.push(e);
      }
      m.readStates.push(...rd.readStates);
      m.raw.advance();
    }
    return any;
  }

  /** send puts messages a member's Ready carries in flight (and in `sent`). */
  send(msgs: Message[]): void {
    for (const msg of msgs) {
      this.sent.push(msg);
      this.inflight.push(msg);
    }
  }

  /** deliver hands every in-flight message to its member (dropping those across a cut). */
  deliver(drop: (m: Message) => boolean = () => false): boolean {
    const batch = this.inflight;
    this.inflight = [];
    for (const msg of batch) {
      if (this.cut.has(msg.from) || this.cut.has(msg.to) || drop(msg)) continue;
      const to = this.members.get(msg.to);
      if (!to) continue;
      to.raw.step(copyMessage(msg));
      if (msg.type === 'snap') this.members.get(msg.from)?.raw.reportSnapshot(msg.to, true);
    }
    return batch.length > 0;
  }

  /** stabilize processes and delivers until nothing moves. */
  stabilize(drop?: (m: Message) => boolean): void {
    for (let i = 0; i < 1000; i++) {
      let moved = false;
      for (const id of [...this.members.keys()].sort((a, b) => a - b)) moved = this.process(id) || moved;
      moved = this.deliver(drop) || moved;
      if (!moved) return;
    }
    throw new Error('group did not stabilize');
  }

  /** tickAll ticks every member `n` times, stabilizing in between. */
  tickAll(n: number, drop?: (m: Message) => boolean): void {
    this.tick([...this.members.keys()], n, drop);
  }

  /** tick ticks only the given members `n` times, stabilizing in between. */
  tick(ids: NodeId[], n: number, drop?: (m: Message) => boolean): void {
    for (let i = 0; i < n; i++) {
      for (const id of ids) this.member(id).raw.tick();
      this.stabilize(drop);
    }
  }

  elect(id: NodeId): void {
    this.member(id).raw.campaign();
    this.stabilize();
    if (this.leaderId() !== id) throw new Error(`${id} did not become leader (leader: ${this.leaderId()})`);
  }

  propose(id: NodeId, text: string): void {
    this.member(id).raw.propose(new TextEncoder().encode(text));
  }

  proposeConfChange(id: NodeId, cc: Partial<ConfChange> & Pick<ConfChange, 'changes'>): void {
    this.member(id).raw.proposeConfChange({ transition: 'auto', context: new Uint8Array(), ...cc });
  }

  /** appliedTexts lists the non-empty normal commands a member applied. */
  appliedTexts(id: NodeId): string[] {
    return this.member(id)
      .applied.filter((e) => e.type === 'normal' && e.data.length > 0)
      .map((e) => new TextDecoder().decode(e.data));
  }

  config(id: NodeId): string {
    return this.member(id).raw.status().configString;
  }
}
