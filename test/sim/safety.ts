// The properties the simulator checks at every step (Raft paper Figure 3 plus
// joint consensus and ReadIndex): Election Safety, Leader Completeness, Log
// Matching, State Machine Safety, "nothing commits without a majority of both
// halves while joint", and that a ReadIndex never returns an index below a
// write known to be committed before the read began.
// It only observes; it must never steer the run.
import type { Entry, NodeId } from '../../replica/raft/index.ts';
import type { SimNode } from './node.ts';

interface CommittedEntry {
  term: number;
  type: Entry['type'];
  data: Uint8Array;
}

/** commitTerms: the term of the leader that first committed each index. */
type CommitTerms = Map<number, number>;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class SafetyMonitor {
  readonly violations: string[] = [];
  /** leaders: the member that won each term. */
  private readonly leaders = new Map<number, NodeId>();
  /** committed: every entry known to be committed (applied by someone), by index. */
  private readonly committed = new Map<number, CommittedEntry>();
  private readonly commitTerms: CommitTerms = new Map();
  private commitTermsUpTo = 0;
  maxCommitted = 0;
  committedCommands = 0;
  committedConfChanges = 0;
  elections = 0;
  private readonly reads = new Map<string, { node: NodeId; floor: number }>();
  readsChecked = 0;

  fail(step: number, what: string): void {
    if (this.violations.length < 20) this.violations.push(`step ${step}: ${what}`);
  }

  /**
   * onLeader: Election Safety (one leader per term) and Leader Completeness:
   * every entry committed by a leader of an earlier term is in the new
   * leader's log. (A leader of term T may be elected after a later term
   * committed entries — its delayed votes were cast before — and need not
   * hold those.)
   */
  onLeader(step: number, node: SimNode, term: number): void {
    this.elections++;
    const prev = this.leaders.get(term);
    if (prev !== undefined && prev !== node.id) {
      this.fail(step, `election safety: both ${prev} and ${node.id} lead term ${term}`);
    }
    this.leaders.set(term, node.id);
    const log = node.raw!.raft.raftLog;
    const floor = log.firstIndex();
    for (const [index, commitTerm] of this.commitTerms) {
      if (commitTerm >= term || index < floor) continue;
      const c = this.committed.get(index);
      const t = node.termAt(index);
      const want = c?.term;
      if (want === undefined) continue;
      if (t !== want) {
        this.fail(step, `leader completeness: leader ${node.id} of term ${term} has term ${t} at ${index}, committed (term ${want}) in term ${commitTerm}`);
        return;
      }
    }
  }

  /** onApply: State Machine Safety — every member applies the same entry at each index. */
  onApply(step: number, node: SimNode, e: Entry): void {
    const c = this.committed.get(e.index);
    if (!c) {
      this.committed.set(e.index, { term: e.term, type: e.type, data: e.data });
      if (e.index > this.maxCommitted) this.maxCommitted = e.index;
      if (e.type === 'confChange') this.committedConfChanges++;
      else if (e.data.length > 0) this.committedCommands++;
      return;
    }
    if (c.term !== e.term || c.type !== e.type || !sameBytes(c.data, e.data)) {
      this.fail(step, `state machine safety: node ${node.id} applied (term ${e.term}) at ${e.index}, others applied (term ${c.term})`);
    }
  }

  isCommitted(index: number, data: Uint8Array): boolean {
    const c = this.committed.get(index);
    return c !== undefined && sameBytes(c.data, data);
  }

  /**
   * onCommit: when leader `node` advances its commit index to `commit`, a
   * majority of every half of its configuration must hold that entry durably.
   */
  onCommit(step: number, node: SimNode, commit: number, nodes: Map<NodeId, SimNode>): void {
    const raft = node.raw!.raft;
    for (let i = this.commitTermsUpTo + 1; i <= commit; i++) if (!this.commitTerms.has(i)) this.commitTerms.set(i, raft.term);
    if (commit > this.commitTermsUpTo) this.commitTermsUpTo = commit;
    // The leader counts itself only for durable entries, so its own disk must hold the entry too.
    const term = node.persistedTermAt(commit);
    if (term === undefined && node.storage.snapshot().metadata.index < commit) {
      this.fail(step, `quorum: leader ${node.id} committed ${commit} which is not in its own durable log`);
      return;
    }
    const halves = [raft.trk.config.voters.incoming, raft.trk.config.voters.outgoing].filter((h) => h.size > 0);
    for (const half of halves) {
      let holders = 0;
      for (const id of half.ids) {
        const other = id === node.id ? node : nodes.get(id);
        if (!other) continue;
        const snapIndex = other.storage.snapshot().metadata.index;
        if (snapIndex >= commit || other.persistedTermAt(commit) === term) holders++;
      }
      if (holders < Math.floor(half.size / 2) + 1) {
        this.fail(
          step,
          `quorum: leader ${node.id} committed ${commit} (term ${term}) held by only ${holders} of ${half} in ${raft.trk.config.voters}`,
        );
      }
    }
  }

  /** checkLogMatching: two logs agreeing on (index, term) agree on every earlier entry. */
  checkLogMatching(step: number, a: SimNode, b: SimNode): void {
    const la = a.raw?.raft.raftLog;
    const lb = b.raw?.raft.raftLog;
    if (!la || !lb) return;
    const lo = Math.max(la.firstIndex(), lb.firstIndex());
    const hi = Math.min(la.lastIndex(), lb.lastIndex());
    let matched = false;
    for (let i = hi; i >= lo; i--) {
      const ta = la.term(i);
      const tb = lb.term(i);
      if (matched && ta !== tb) {
        this.fail(step, `log matching: ${a.id} and ${b.id} agree above ${i} but differ at ${i} (${ta} vs ${tb})`);
        return;
      }
      if (ta === tb) {
        const ea = la.slice(i, i + 1, Infinity)[0];
        const eb = lb.slice(i, i + 1, Infinity)[0];
        if (ea.type !== eb.type || !sameBytes(ea.data, eb.data)) {
          this.fail(step, `log matching: ${a.id} and ${b.id} hold different entries at ${i} term ${ta}`);
          return;
        }
        matched = true;
      }
    }
  }

  /** onReadIssued records the highest committed index at the moment a read starts. */
  onReadIssued(ctx: string, node: NodeId): void {
    this.reads.set(ctx, { node, floor: this.maxCommitted });
  }

  /** onReadState: the index must cover every write committed before the read started. */
  onReadState(step: number, node: NodeId, ctx: string, index: number): void {
    const r = this.reads.get(ctx);
    if (!r) {
      this.fail(step, `read index: unknown read context at ${node}`);
      return;
    }
    // The read stays recorded: a duplicated request may be answered twice.
    this.readsChecked++;
    if (r.node !== node) this.fail(step, `read index: read of ${r.node} answered at ${node}`);
    if (index < r.floor) this.fail(step, `read index: ${node} answered index ${index} below committed ${r.floor} (stale read)`);
  }
}
