// Holds a leader's commit notices — raft's appends without entries sent only
// to carry the commit index (Message.commitOnly) — for a few milliseconds,
// so that the next append to the same follower, which carries the commit
// index anyway, takes their place. Under a steady write load every round of
// proposals otherwise costs each follower one more wakeup, read, hard-state
// write and apply turn, and the leader one more socket write per follower,
// about a millisecond before the next round's append says the same. A notice
// nothing replaces within the hold is sent as it was.
// It must never hold anything but a commit notice, never send a held notice
// after a later append or snapshot to the same follower (it is dropped
// instead: order on each follower's stream is kept), never hold a notice a follower is
// waiting on to answer its own clients (it forwarded proposals the leader has
// not yet told it are committed), and never send a notice of a term the
// member no longer leads.
import type { Message, NodeId } from '../raft/index.ts';
import { REAL_CLOCK, type TickerClock } from './ticker.ts';

/**
 * COMMIT_NOTICE_HOLD_MS is how long a commit notice waits for an append to
 * take its place: longer than the time from a leader's answers to its
 * clients' next requests reaching raft under load (about 1–2 ms at 64 and
 * 256 clients on the benchmark machine), far shorter than a heartbeat.
 */
export const COMMIT_NOTICE_HOLD_MS = 4;

/** CommitNoticeClock: the timers of the ticker's clock (ticker.ts), which is all the hold needs. */
export type CommitNoticeClock = Pick<TickerClock, 'setTimeout' | 'clearTimeout'>;

export class CommitNoticeHold {
  readonly #holdMs: number;
  readonly #send: (msgs: Message[]) => void;
  /** leads tells whether this member still leads `term` (a held notice of another term is dropped) */
  readonly #leads: (term: number) => boolean;
  readonly #clock: CommitNoticeClock;
  /** the newest held notice per follower */
  readonly #held = new Map<NodeId, Message>();
  #timer: unknown;
  /** the highest log index a follower's forwarded proposals took on this leader */
  readonly #forwardedUpTo = new Map<NodeId, number>();
  /** the highest commit index sent to a follower in an append or heartbeat */
  readonly #commitSent = new Map<NodeId, number>();
  /** notices held; of those, dropped because a later message took their place, and sent once their hold was over */
  readonly counts = { held: 0, replaced: 0, sent: 0 };

  constructor(holdMs: number, send: (msgs: Message[]) => void, leads: (term: number) => boolean, clock: CommitNoticeClock = REAL_CLOCK) {
    this.#holdMs = holdMs;
    this.#send = send;
    this.#leads = leads;
    this.#clock = clock;
  }

  /**
   * noteForwarded records that proposals `from` forwarded now end at log
   * index `lastIndex` here: its notices are sent at once until one tells it
   * that index is committed.
   */
  noteForwarded(from: NodeId, lastIndex: number): void {
    if (lastIndex > (this.#forwardedUpTo.get(from) ?? 0)) this.#forwardedUpTo.set(from, lastIndex);
  }

  /** send sends `msgs` in order, except the commit notices it holds. */
  send(msgs: Message[]): void {
    let out: Message[] | undefined;
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i];
      const hold = this.#holdMs > 0 && m.type === 'app' && m.commitOnly === true && m.entries.length === 0 && !this.#awaited(m);
      if (hold) {
        if (this.#held.has(m.to)) this.counts.replaced++;
        this.#held.set(m.to, m);
        this.counts.held++;
        out ??= msgs.slice(0, i);
        continue;
      }
      // A later append or snapshot takes a held notice's place (sent after it, the notice
      // would be out of order). A heartbeat does not: it carries the commit index only up
      // to what the follower is known to hold, and changes nothing a notice checks.
      if ((m.type === 'app' || m.type === 'snap') && this.#held.delete(m.to)) this.counts.replaced++;
      if (m.type === 'app' || m.type === 'heartbeat') this.#noteCommitSent(m.to, m.commit);
      out?.push(m);
    }
    const now = out ?? msgs;
    if (now.length > 0) this.#send(now);
    if (this.#held.size > 0 && this.#timer === undefined) this.#timer = this.#clock.setTimeout(() => this.flush(), this.#holdMs);
  }

  /** flush sends the held notices now (those of a term this member still leads). */
  flush(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#held.size === 0) return;
    const due: Message[] = [];
    for (const m of this.#held.values()) {
      if (!this.#leads(m.term)) continue;
      this.#noteCommitSent(m.to, m.commit);
      due.push(m);
    }
    this.#held.clear();
    this.counts.sent += due.length;
    if (due.length > 0) this.#send(due);
  }

  /** clear drops what is held and what was learnt about followers (the member stopped leading or stops). */
  clear(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#held.clear();
    this.#forwardedUpTo.clear();
    this.#commitSent.clear();
  }

  /** awaited: the follower forwarded proposals it has not been told are committed, so it waits on this notice. */
  #awaited(m: Message): boolean {
    return (this.#forwardedUpTo.get(m.to) ?? 0) > (this.#commitSent.get(m.to) ?? 0);
  }

  #noteCommitSent(to: NodeId, commit: number): void {
    if (commit > (this.#commitSent.get(to) ?? 0)) this.#commitSent.set(to, commit);
  }
}
