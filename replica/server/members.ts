// The replicated member table: each member's id, name, peer and client URLs.
// Raft's ConfState says who votes; this says where members are and what they
// are called. It changes only by applying log entries (configuration changes
// carry the new members' addresses in their context; a started member
// publishes its name and client URLs), so every member holds the same table.
// Must never read the clock or anything local while applying.
import type { ConfChange, ConfState, NodeId } from '../raft/index.ts';

export interface MemberRecord {
  id: NodeId;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
}

export interface MemberView extends MemberRecord {
  isLearner: boolean;
}

/** ChangeContext travels in a configuration change: who asked, and the addresses of members being added. */
export interface ChangeContext {
  requestId?: string;
  members?: MemberRecord[];
}

export function encodeChangeContext(c: ChangeContext): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(c));
}

export function decodeChangeContext(data: Uint8Array): ChangeContext {
  if (data.length === 0) return {};
  try {
    const c = JSON.parse(new TextDecoder().decode(data)) as ChangeContext;
    return typeof c === 'object' && c !== null ? c : {};
  } catch {
    return {};
  }
}

export class MemberTable {
  private members = new Map<NodeId, MemberRecord>();
  /** removed ids are never used again. */
  private removed = new Set<NodeId>();
  private conf: ConfState = { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };

  static initial(members: MemberRecord[], conf: ConfState): MemberTable {
    const t = new MemberTable();
    for (const m of members) t.members.set(m.id, { ...m });
    t.conf = conf;
    return t;
  }

  get confState(): ConfState {
    return this.conf;
  }

  get(id: NodeId): MemberRecord | undefined {
    return this.members.get(id);
  }

  isRemoved(id: NodeId): boolean {
    return this.removed.has(id);
  }

  /** taken: an id that is or was a member. */
  taken(id: NodeId): boolean {
    return this.members.has(id) || this.removed.has(id);
  }

  findByPeerURL(url: string): MemberRecord | undefined {
    for (const m of this.members.values()) if (m.peerURLs.includes(url)) return m;
    return undefined;
  }

  /** list renders every member, learners flagged, ordered by id. */
  list(): MemberView[] {
    const learners = new Set(this.conf.learners);
    return [...this.members.values()]
      .sort((a, b) => a.id - b.id)
      .map((m) => ({ ...m, peerURLs: [...m.peerURLs], clientURLs: [...m.clientURLs], isLearner: learners.has(m.id) }));
  }

  /** applyConfChange records the addresses of added members and forgets members no longer in the configuration. */
  applyConfChange(cc: ConfChange, after: ConfState): void {
    const ctx = decodeChangeContext(cc.context);
    for (const m of ctx.members ?? []) {
      if (!this.members.has(m.id) && !this.removed.has(m.id)) {
        this.members.set(m.id, { id: m.id, name: m.name ?? '', peerURLs: [...(m.peerURLs ?? [])], clientURLs: [] });
      }
    }
    for (const c of cc.changes) {
      if ((c.type === 'addNode' || c.type === 'addLearner') && !this.members.has(c.nodeId) && !this.removed.has(c.nodeId)) {
        this.members.set(c.nodeId, { id: c.nodeId, name: '', peerURLs: [], clientURLs: [] });
      }
    }
    this.conf = after;
    const inConfig = new Set([...after.voters, ...after.votersOutgoing, ...after.learners, ...after.learnersNext]);
    for (const id of [...this.members.keys()]) {
      if (!inConfig.has(id)) {
        this.members.delete(id);
        this.removed.add(id);
      }
    }
  }

  /** publish records a started member's name and client URLs. */
  publish(id: NodeId, name: string, clientURLs: string[]): void {
    const m = this.members.get(id);
    if (!m) return;
    m.name = name;
    m.clientURLs = [...clientURLs];
  }

  /** setConfState installs the configuration of a restored snapshot. */
  setConfState(cs: ConfState): void {
    this.conf = cs;
  }

  encode(): Uint8Array {
    return new TextEncoder().encode(
      JSON.stringify({ members: [...this.members.values()].sort((a, b) => a.id - b.id), removed: [...this.removed].sort((a, b) => a - b) }),
    );
  }

  static decode(data: Uint8Array, conf: ConfState): MemberTable {
    const raw = JSON.parse(new TextDecoder().decode(data)) as { members: MemberRecord[]; removed: NodeId[] };
    const t = new MemberTable();
    for (const m of raw.members) t.members.set(m.id, m);
    for (const id of raw.removed) t.removed.add(id);
    t.conf = conf;
    return t;
  }
}
