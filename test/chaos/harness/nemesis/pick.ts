// Seeded random choices for the nemeses (which member, how many, which way).
// It must never read Math.random: a run's choices follow from its seed.
import type { Prng } from '../../proxy/index.ts';

/** pickOne returns a uniformly chosen element; throws on an empty list. */
export function pickOne<T>(rng: Prng, items: readonly T[]): T {
  if (items.length === 0) throw new Error('pick: nothing to choose from');
  return items[Math.floor(rng() * items.length)];
}

/** shuffled returns a copy in random order (Fisher–Yates). */
export function shuffled<T>(rng: Prng, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** pickSome returns between 1 and `max` distinct elements. */
export function pickSome<T>(rng: Prng, items: readonly T[], max: number): T[] {
  const n = 1 + Math.floor(rng() * Math.max(1, Math.min(max, items.length)));
  return shuffled(rng, items).slice(0, n);
}

/** minority is the most members that may fail without losing a quorum. */
export function minority(size: number): number {
  return Math.floor((size - 1) / 2);
}
