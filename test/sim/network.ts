// The simulated network between raft members: per-message delay (reordering),
// loss, duplication, and symmetric or one-way partitions, all driven by the
// run's seeded PRNG. Must never deliver a message to a member that is down or
// across a cut link, and must never share a message object between sender and
// receiver (the receiver gets a copy, as it would from the wire).
import type { Message, NodeId } from '../../replica/raft/index.ts';

export interface NetRand {
  next(): number;
  intn(n: number): number;
}

interface InFlight {
  at: number;
  seq: number;
  msg: Message;
}

export interface NetworkFaults {
  /** probability a message is lost */
  loss: number;
  /** probability a message is delivered twice */
  duplicate: number;
  /** probability a message is slow (delayed far beyond the usual latency) */
  slow: number;
}

export const CALM: NetworkFaults = { loss: 0, duplicate: 0, slow: 0 };

export class Network {
  private queue: InFlight[] = [];
  private seq = 0;
  /** cut holds directed links "from>to" that drop everything. */
  private cut = new Set<string>();
  faults: NetworkFaults = CALM;
  private readonly rand: NetRand;

  constructor(rand: NetRand) {
    this.rand = rand;
  }

  get pending(): number {
    return this.queue.length;
  }

  /** blocked tells whether messages from `from` to `to` are currently cut. */
  blocked(from: NodeId, to: NodeId): boolean {
    return this.cut.has(`${from}>${to}`);
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`);
  }

  /** partition cuts every link between the two sides, both ways. */
  partition(a: NodeId[], b: NodeId[]): void {
    for (const x of a) for (const y of b) {
      this.cutLink(x, y);
      this.cutLink(y, x);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  describeCuts(): string {
    return [...this.cut].sort().join(',');
  }

  /** send schedules a message; returns false if it was lost at once (cut link or random loss). */
  send(now: number, m: Message): boolean {
    if (this.blocked(m.from, m.to)) return false;
    if (this.faults.loss > 0 && this.rand.next() < this.faults.loss) return false;
    const copies = this.faults.duplicate > 0 && this.rand.next() < this.faults.duplicate ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const slow = this.faults.slow > 0 && this.rand.next() < this.faults.slow;
      const delay = slow ? 10 + this.rand.intn(60) : 1 + this.rand.intn(3);
      this.queue.push({ at: now + delay, seq: this.seq++, msg: m });
    }
    return true;
  }

  /**
   * due removes the messages due at `now` and returns them in a seeded order:
   * those to deliver, and those lost on a link cut meanwhile (a transport
   * learns that a send failed, which matters for snapshots).
   */
  due(now: number): { deliver: Message[]; lost: Message[] } {
    const ready: InFlight[] = [];
    const rest: InFlight[] = [];
    for (const f of this.queue) (f.at <= now ? ready : rest).push(f);
    this.queue = rest;
    ready.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const deliver: Message[] = [];
    const lost: Message[] = [];
    for (const f of ready) (this.blocked(f.msg.from, f.msg.to) ? lost : deliver).push(f.msg);
    return { deliver: deliver.map(copyMessage), lost };
  }

  /** dropFor forgets every message to or from `id` (it crashed: its sockets are gone); returns them. */
  dropFor(id: NodeId): Message[] {
    const lost = this.queue.filter((f) => f.msg.to === id || f.msg.from === id).map((f) => f.msg);
    this.queue = this.queue.filter((f) => f.msg.to !== id && f.msg.from !== id);
    return lost;
  }
}

/** copyMessage is what the wire does: the receiver never aliases the sender's objects. */
export function copyMessage(m: Message): Message {
  return {
    ...m,
    entries: m.entries.map((e) => ({ ...e })),
    snapshot: m.snapshot
      ? {
          metadata: {
            ...m.snapshot.metadata,
            confState: {
              voters: [...m.snapshot.metadata.confState.voters],
              learners: [...m.snapshot.metadata.confState.learners],
              votersOutgoing: [...m.snapshot.metadata.confState.votersOutgoing],
              learnersNext: [...m.snapshot.metadata.confState.learnersNext],
              autoLeave: m.snapshot.metadata.confState.autoLeave,
            },
          },
          data: m.snapshot.data,
        }
      : undefined,
  };
}
