// The only source of randomness the core may use: an injected generator, so a
// seed fixes every election timeout. Never reach for Math.random here.

/** Rand yields integers in [0, n). */
export interface Rand {
  intn(n: number): number;
}

/**
 * seededRand is a small deterministic generator (mulberry32) for the simulator
 * and tests; the server may pass one seeded from anything.
 */
export function seededRand(seed: number): Rand & { next(): number } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, intn: (n: number) => Math.floor(next() * n) };
}
