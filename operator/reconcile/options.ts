// Settings of the planner that are the operator's, not the user's: the
// cluster DNS domain, how the replica is started in its image, where data
// lives, and the timings of requeues. Must never hold per-group state.

export interface PlannerOptions {
  /** clusterDomain is the cluster's DNS suffix (default "cluster.local"). */
  clusterDomain: string;
  /** command replaces the image's ENTRYPOINT when set (e.g. ["replicant"]). */
  command?: string[];
  /** argsPrefix comes before the flags (e.g. ["replica"] for a multi-command image). */
  argsPrefix: string[];
  /**
   * replicaFaultInjection starts members with --enable-fault-injection, so their state can be
   * corrupted on purpose through the admin API. Test only: never in production.
   */
  replicaFaultInjection?: boolean;
  /**
   * networkPolicies: keep a NetworkPolicy per group that lets only the group's own members reach
   * its members' peer port (the chart's namespace-wide policy then leaves the peer port out).
   */
  networkPolicies?: boolean;
  /** dataMountPath is where the member's volume is mounted; the data dir is below it. */
  dataMountPath: string;
  /** requeue delays, in milliseconds. */
  requeue: {
    /** steady: nothing to do; members are polled at this rate. */
    steady: number;
    /** busy: an operation is in flight or something was just changed. */
    busy: number;
    /** quorumLost: waiting for members to come back. */
    quorumLost: number;
  };
  /** backoff after a rolled-back change: base doubling per attempt up to max (ms). */
  backoff: { baseMs: number; maxMs: number };
}

export const DEFAULT_OPTIONS: PlannerOptions = {
  clusterDomain: 'cluster.local',
  argsPrefix: [],
  dataMountPath: '/var/lib/replicant',
  requeue: { steady: 15_000, busy: 2_000, quorumLost: 5_000 },
  backoff: { baseMs: 10_000, maxMs: 300_000 },
};

/** withDefaults fills unset options. */
export function withDefaults(o: Partial<PlannerOptions> = {}): PlannerOptions {
  return {
    ...DEFAULT_OPTIONS,
    ...o,
    requeue: { ...DEFAULT_OPTIONS.requeue, ...o.requeue },
    backoff: { ...DEFAULT_OPTIONS.backoff, ...o.backoff },
  };
}
