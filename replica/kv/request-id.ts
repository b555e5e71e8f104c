// Request ids for proposals: unique per member across restarts, below 2^53.
// Layout: the low 13 bits of the member id, then a 40-bit counter that starts
// from the process start time (milliseconds, shifted left by 8) so a restarted
// member does not reuse the ids of its entries still in the log.
// Members whose ids share their low 13 bits may draw equal ids, so a server
// matching apply results to waiters should also check the entry is the one it
// proposed. This module must never read the clock itself: the start time is given.

const COUNTER_SPAN = 2 ** 40;
const MEMBER_SPAN = 2 ** 13;

export class RequestIdGenerator {
  private readonly prefix: number;
  private counter: number;

  constructor(memberId: number, startMillis: number) {
    if (!Number.isSafeInteger(memberId) || memberId < 0) throw new Error(`request ids: member id ${memberId} is not a non-negative integer`);
    this.prefix = (memberId % MEMBER_SPAN) * COUNTER_SPAN;
    this.counter = ((Math.floor(startMillis) % 2 ** 32) * 256) % COUNTER_SPAN;
  }

  /** next returns a fresh id, never 0. */
  next(): number {
    this.counter = (this.counter + 1) % COUNTER_SPAN;
    const id = this.prefix + this.counter;
    return id === 0 ? this.next() : id;
  }
}
