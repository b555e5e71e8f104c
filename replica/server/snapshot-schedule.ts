// When a member takes its own snapshot. Every member snapshots once per
// `every` applied entries, but at its own phase within that period (derived
// from its member id), so the members of a group do not all encode
// their state at the same log index: encoding the in-memory store costs CPU
// (in slices beside the loop) and writing it costs disk bandwidth, and if
// every member did so at once the whole group would slow down together. It must never let more than
// 1.5 × every entries pass without a snapshot, nor take two less than
// every / 2 apart.

/** snapshotPhase is the member's offset within the snapshot period, in [0, every). */
export function snapshotPhase(memberId: number, every: number): number {
  if (every <= 0) return 0;
  // Member ids are random 64-bit values carried in a double: mix the bits we have.
  const lo = memberId % 2 ** 32;
  const hi = Math.floor(memberId / 2 ** 32);
  return ((lo ^ Math.imul(hi, 0x9e3779b1)) >>> 0) % every;
}

/**
 * snapshotDueAt tells whether a member that last snapshotted at `last` and has
 * applied up to `applied` should snapshot now: once it crossed a point
 * `phase + k × every` since `last`, and at least every / 2 entries after it.
 */
export function snapshotDueAt(applied: number, last: number, every: number, phase: number): boolean {
  if (every <= 0 || applied - last < Math.ceil(every / 2)) return false;
  if (applied - last >= every + Math.floor(every / 2)) return true;
  return Math.floor((applied - phase) / every) > Math.floor((last - phase) / every);
}
