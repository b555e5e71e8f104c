// When a member takes its own snapshot. Every member snapshots once per
// `every` applied entries, but at its own phase within that period (derived
// from its member id), so the members of a group do not all encode
// their state at the same log index: encoding the in-memory store costs CPU
// (in slices beside the loop) and writing it costs disk bandwidth, and if
// every member did so at once the whole group would slow down together. It must never let more than
// 1.5 × every entries pass without a snapshot, nor take two less than
// every / 2 apart. Also whether the next one may be a delta (only what changed
// since the last one, in a file that extends it) or must be whole again.

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

/** OwnChain is what a member knows of the chain its last own snapshot ends: that snapshot, and the deltas since the last whole one. */
export interface OwnChain {
  /** the last own snapshot's index (the chain's tip) */
  tipIndex: number;
  /** delta files since the whole one */
  deltas: number;
  /** their data's bytes together, and the whole one's */
  deltaBytes: number;
  rootBytes: number;
}

/**
 * extendsChain tells whether the next own snapshot should be a delta of the
 * chain: the last snapshot saved is still the chain's tip (none installed
 * from the leader since), fewer than maxDeltas deltas follow the whole one
 * (0: every snapshot whole), and together they are still smaller than it.
 * Once they are as large, a whole snapshot replaces the chain: what is
 * written per snapshot stays within about twice what changed, and a restart
 * or a follower's catch-up reads at most about twice the state.
 */
export function extendsChain(chain: OwnChain | undefined, lastSnapshotIndex: number, maxDeltas: number): boolean {
  if (!chain || maxDeltas <= 0) return false;
  return chain.tipIndex === lastSnapshotIndex && chain.deltas < maxDeltas && chain.deltaBytes < chain.rootBytes;
}
