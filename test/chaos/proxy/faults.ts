// The faults a link proxy can impose on one directed link, and their checks.
// A TCP stream cannot lose bytes without corrupting framing, so "loss" is
// modelled as the connection being reset at random points, and a partition
// as resets plus refused connections; "blackhole" accepts and swallows.
// It must never accept a malformed fault: a typo in a nemesis schedule is an
// error at setFault, not a link that silently passes traffic.

/** Fault is what a link does to the traffic on it. */
export type Fault =
  /** Forward everything at once. */
  | { readonly kind: 'pass' }
  /** Hold every chunk for ms + uniform[0, jitterMs) ms, never reordering bytes of a connection. */
  | { readonly kind: 'delay'; readonly ms: number; readonly jitterMs?: number; readonly seed?: number }
  /**
   * Accept connections but forward nothing either way (bytes are discarded);
   * when lifted, every connection that lived through it is reset so protocols
   * resynchronise on fresh connections.
   */
  | { readonly kind: 'blackhole' }
  /** Reset every connection now, and reset new ones as soon as they are accepted. */
  | { readonly kind: 'partition' }
  /** Reset a connection instead of forwarding a chunk, with probability `rate` per chunk (seeded per connection). */
  | { readonly kind: 'loss'; readonly rate: number; readonly seed?: number };

export type FaultKind = Fault['kind'];

export const PASS: Fault = { kind: 'pass' };

/** checkFault throws a clear error unless `f` is a well-formed Fault. */
export function checkFault(f: Fault): Fault {
  const bad = (why: string): never => {
    throw new Error(`proxy: bad fault ${JSON.stringify(f)}: ${why}`);
  };
  if (typeof f !== 'object' || f === null) bad('expected an object with a kind');
  switch (f.kind) {
    case 'pass':
    case 'blackhole':
    case 'partition':
      return f;
    case 'delay':
      if (!(Number.isFinite(f.ms) && f.ms >= 0)) bad('ms must be a finite number >= 0');
      if (f.jitterMs !== undefined && !(Number.isFinite(f.jitterMs) && f.jitterMs >= 0)) bad('jitterMs must be a finite number >= 0');
      if (f.seed !== undefined && !Number.isInteger(f.seed)) bad('seed must be an integer');
      return f;
    case 'loss':
      if (!(Number.isFinite(f.rate) && f.rate >= 0 && f.rate <= 1)) bad('rate must be a probability in [0, 1]');
      if (f.seed !== undefined && !Number.isInteger(f.seed)) bad('seed must be an integer');
      return f;
    default:
      return bad('kind must be pass, delay, blackhole, partition or loss');
  }
}

/** describeFault is a compact form for logs: `pass`, `delay 50±20ms`, `loss 0.1`. */
export function describeFault(f: Fault): string {
  switch (f.kind) {
    case 'delay':
      return `delay ${f.ms}${f.jitterMs ? `±${f.jitterMs}` : ''}ms`;
    case 'loss':
      return `loss ${f.rate}`;
    default:
      return f.kind;
  }
}
