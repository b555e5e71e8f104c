// Quorum arithmetic over a (possibly joint) raft configuration of member ids:
// the quorum size, whether each half has a healthy majority, and how many more
// failures the group survives. A joint configuration is two majority
// configurations that must both agree (Raft thesis §4.3), so every answer here
// is the worse of the two halves. Pure: must never look at pods or clocks.

/** Configuration is a raft configuration by member id; while joint, outgoing is C_old. */
export interface Configuration {
  voters: number[];
  outgoing: number[];
  learners: number[];
  joint: boolean;
}

/** quorumSize is the majority of n voters: floor(n/2)+1. */
export function quorumSize(n: number): number {
  return Math.floor(n / 2) + 1;
}

/** halves are the majority configurations that must each agree: C_new, and C_old while joint. */
export function halves(config: Configuration): number[][] {
  return config.joint && config.outgoing.length > 0 ? [config.voters, config.outgoing] : [config.voters];
}

/** allVoters is every id that votes in either half. */
export function allVoters(config: Configuration): number[] {
  return [...new Set([...config.voters, ...(config.joint ? config.outgoing : [])])];
}

/** healthyCount is how many of `ids` are healthy. */
export function healthyCount(ids: number[], healthy: ReadonlySet<number>): number {
  return ids.filter((id) => healthy.has(id)).length;
}

/**
 * hasHealthyQuorum says whether every half of the configuration has a healthy
 * majority. An empty configuration has no quorum (we know of no voters).
 */
export function hasHealthyQuorum(config: Configuration, healthy: ReadonlySet<number>): boolean {
  if (config.voters.length === 0) return false;
  return halves(config).every((h) => healthyCount(h, healthy) >= quorumSize(h.length));
}

/**
 * currentFaultTolerance is how many more member failures the group survives
 * now: healthy voters minus quorum, floored at 0, the minimum over both halves
 * while joint. A group without a healthy quorum tolerates nothing.
 */
export function currentFaultTolerance(config: Configuration, healthy: ReadonlySet<number>): number {
  if (config.voters.length === 0) return 0;
  return Math.min(...halves(config).map((h) => Math.max(0, healthyCount(h, healthy) - quorumSize(h.length))));
}

/** describeQuorum renders "2/3 healthy, 2 needed" per half, for condition messages. */
export function describeQuorum(config: Configuration, healthy: ReadonlySet<number>): string {
  const parts = halves(config).map((h) => `${healthyCount(h, healthy)}/${h.length} voters healthy, ${quorumSize(h.length)} needed`);
  return config.joint ? `C_new: ${parts[0]}; C_old: ${parts[1]}` : parts[0];
}

/** configString renders a configuration compactly, e.g. "(a b c)&&(a b d) learners(e)". */
export function configString(config: Configuration, name: (id: number) => string = String): string {
  const set = (ids: number[]) => `(${ids.map(name).sort().join(' ')})`;
  let s = set(config.voters);
  if (config.joint) s += `&&${set(config.outgoing)}`;
  if (config.learners.length) s += ` learners${set(config.learners)}`;
  return s;
}
