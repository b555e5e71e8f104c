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
  /**
   * removedPeers remembers removed members' peer URLs, so a removed member's
   * certificate (which names those URLs' hosts) is refused on the peer port.
   */
  private removedPeers = new Map<NodeId, string[]>();
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

  /** removedMembers lists removed members whose peer URLs are known. */
  removedMembers(): { id: NodeId; peerURLs: string[] }[] {
    return [...this.removedPeers].map(([id, peerURLs]) => ({ id, peerURLs: [...peerURLs] }));
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
        const peerURLs = this.members.get(id)!.peerURLs;
        if (peerURLs.length > 0) this.removedPeers.set(id, [...peerURLs]);
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
      JSON.stringify({
        members: [...this.members.values()].sort((a, b) => a.id - b.id),
        removed: [...this.removed].sort((a, b) => a - b),
        removedPeers: [...this.removedPeers].sort((a, b) => a[0] - b[0]).map(([id, peerURLs]) => ({ id, peerURLs })),
      }),
    );
  }

  /** decode reads encode()'s bytes; malformed input (a corrupt or hostile snapshot) throws a clear Error. */
  static decode(data: Uint8Array, conf: ConfState): MemberTable {
    let raw: unknown;
    try {
      raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
    } catch (e) {
      throw new Error(`member table in snapshot is not valid JSON: ${(e as Error).message}`);
    }
    const bad = (what: string) => new Error(`member table in snapshot is malformed: ${what}`);
    const isId = (x: unknown): x is NodeId => Number.isSafeInteger(x) && (x as number) > 0;
    const isStrings = (x: unknown): x is string[] => Array.isArray(x) && x.every((u) => typeof u === 'string');
    if (typeof raw !== 'object' || raw === null) throw bad('not an object');
    const r = raw as { members?: unknown; removed?: unknown; removedPeers?: unknown };
    if (!Array.isArray(r.members) || !Array.isArray(r.removed)) throw bad('members and removed must be arrays');
    const t = new MemberTable();
    for (const m of r.members as Partial<MemberRecord>[]) {
      if (typeof m !== 'object' || m === null || !isId(m.id) || typeof m.name !== 'string' || !isStrings(m.peerURLs) || !isStrings(m.clientURLs)) {
        throw bad(`invalid member entry ${JSON.stringify(m).slice(0, 200)}`);
      }
      t.members.set(m.id, { id: m.id, name: m.name, peerURLs: m.peerURLs, clientURLs: m.clientURLs });
    }
    for (const id of r.removed) {
      if (!isId(id)) throw bad(`invalid removed id ${JSON.stringify(id)}`);
      t.removed.add(id);
    }
    // Snapshots written before removedPeers existed simply lack it.
    if (r.removedPeers !== undefined && !Array.isArray(r.removedPeers)) throw bad('removedPeers must be an array');
    for (const p of (r.removedPeers ?? []) as { id?: unknown; peerURLs?: unknown }[]) {
      if (typeof p !== 'object' || p === null || !isId(p.id) || !isStrings(p.peerURLs)) throw bad('invalid removedPeers entry');
      t.removedPeers.set(p.id, [...p.peerURLs]);
    }
    t.conf = conf;
    return t;
  }
}
