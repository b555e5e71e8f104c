// A small seeded pseudo-random generator (splitmix32) for reproducible fault
// injection: the same seed gives the same jitter and reset points.
// It must never be used for anything secret, and never read Math.random.

/** Prng returns uniform numbers in [0, 1). */
export type Prng = () => number;

/** prng makes a generator from any integer seed (and an optional stream number, e.g. a connection index). */
export function prng(seed: number, stream = 0): Prng {
  let state = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(stream | 0, 0x85ebca6b)) | 0;
  return () => {
    state = (state + 0x9e3779b9) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    z ^= z >>> 15;
    return (z >>> 0) / 4294967296;
  };
}
