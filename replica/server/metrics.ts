// The replica's Prometheus metrics (prefix replicant_), on a registry of its
// own so several replicas can live in one test process. Must never compute
// anything: callers observe values where they happen, or, for what changes on
// every request, keep a count that a metric reads when scraped (`sources`).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CallHistogram } from './call-histogram.ts';

export type ReplicaMetrics = ReturnType<typeof createReplicaMetrics>;

export function createReplicaMetrics(labels: { member: string }) {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry, prefix: 'replicant_' });
  const r = [registry];
  // Counts kept where they change (a put must not pay for prom-client's label hashing) and read when scraped.
  const sources = {
    proposalsPending: (): number => 0,
    proposalsCommitted: (): number => 0,
    spilledBytes: (): number => 0,
    commitNotices: (): { replaced: number; sent: number } => ({ replaced: 0, sent: 0 }),
  };
  return {
    registry,
    term: new Gauge({ name: 'replicant_raft_term', help: 'Current raft term of this member.', registers: r }),
    commitIndex: new Gauge({ name: 'replicant_raft_commit_index', help: 'Highest log index known to be committed.', registers: r }),
    appliedIndex: new Gauge({ name: 'replicant_raft_applied_index', help: 'Highest log index applied to the state machine.', registers: r }),
    isLeader: new Gauge({ name: 'replicant_raft_is_leader', help: '1 if this member is the leader, else 0.', registers: r }),
    hasLeader: new Gauge({ name: 'replicant_raft_has_leader', help: '1 if this member knows a leader, else 0.', registers: r }),
    isLearner: new Gauge({ name: 'replicant_raft_is_learner', help: '1 if this member is a learner, else 0.', registers: r }),
    leaderChanges: new Counter({ name: 'replicant_raft_leader_changes_total', help: 'Leader changes seen by this member.', registers: r }),
    votersCount: new Gauge({ name: 'replicant_raft_voters', help: 'Voters in the configuration (incoming half while joint).', registers: r }),
    joint: new Gauge({ name: 'replicant_raft_joint', help: '1 while the configuration is joint (C_old,new).', registers: r }),
    peerMatchIndex: new Gauge({
      name: 'replicant_raft_peer_match_index',
      help: 'Per peer: highest log index known replicated (leader only).',
      labelNames: ['peer'],
      registers: r,
    }),
    proposalsCommitted: new Counter({
      name: 'replicant_proposals_committed_total',
      help: 'Proposals of this member applied.',
      registers: r,
      collect() {
        this.reset();
        this.inc(sources.proposalsCommitted());
      },
    }),
    commitNotices: new Counter({
      name: 'replicant_commit_notices_held_total',
      help: 'Commit notices (appends that only carry the commit index) a leader held for a later append to replace, by outcome: replaced (never sent) or sent once the hold was over.',
      labelNames: ['outcome'],
      registers: r,
      collect() {
        this.reset();
        const c = sources.commitNotices();
        this.inc({ outcome: 'replaced' }, c.replaced);
        this.inc({ outcome: 'sent' }, c.sent);
      },
    }),
    proposalsFailed: new Counter({
      name: 'replicant_proposals_failed_total',
      help: 'Proposals of this member that failed, by reason.',
      labelNames: ['reason'],
      registers: r,
    }),
    proposalsPending: new Gauge({
      name: 'replicant_proposals_pending',
      help: 'Proposals of this member waiting to be applied.',
      registers: r,
      collect() {
        this.set(sources.proposalsPending());
      },
    }),
    walFsyncSeconds: new Histogram({
      name: 'replicant_wal_fsync_duration_seconds',
      help: 'Latency of WAL fsync calls.',
      buckets: [0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048],
      registers: r,
    }),
    applySeconds: new Histogram({
      name: 'replicant_apply_duration_seconds',
      help: 'Time to apply one batch of committed entries.',
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1],
      registers: r,
    }),
    snapshots: new Counter({ name: 'replicant_snapshots_total', help: 'Snapshots taken or installed, by kind.', labelNames: ['kind'], registers: r }),
    snapshotSeconds: new Histogram({
      name: 'replicant_snapshot_duration_seconds',
      help: 'Time to save a snapshot.',
      buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10],
      registers: r,
    }),
    snapshotCopiedBytes: new Counter({
      name: 'replicant_snapshot_copied_bytes_total',
      help: 'Bytes of own snapshots copied from the snapshot before instead of encoded from the store.',
      registers: r,
    }),
    snapshotWrittenBytes: new Counter({
      name: 'replicant_snapshot_written_bytes_total',
      help: 'Bytes of own snapshot files written, by kind: whole, or delta (only what changed since the snapshot before).',
      labelNames: ['kind'],
      registers: r,
    }),
    peerSendFailures: new Counter({
      name: 'replicant_peer_send_failures_total',
      help: 'Raft messages that could not be delivered to a peer.',
      labelNames: ['peer'],
      registers: r,
    }),
    grpcSeconds: new CallHistogram({
      name: 'replicant_grpc_request_duration_seconds',
      help: 'Client and admin gRPC request latency by method and code.',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: r,
    }),
    checkpointIndex: new Gauge({ name: 'replicant_checkpoint_index', help: 'Log index of the latest state digest.', registers: r }),
    divergent: new Gauge({
      name: 'replicant_member_divergent',
      help: '1 if this member state digest differs from the majority at the same checkpoint.',
      registers: r,
    }),
    storeKeys: new Gauge({ name: 'replicant_store_keys', help: 'Live keys in the key-value store.', registers: r }),
    storeRevision: new Gauge({ name: 'replicant_store_revision', help: 'Current revision of the key-value store.', registers: r }),
    storeSpilledBytes: new Gauge({
      name: 'replicant_store_spilled_bytes',
      help: 'Bytes of old revisions\' values the store keeps in its spill files (member/spill) instead of the heap.',
      registers: r,
      collect() {
        this.set(sources.spilledBytes());
      },
    }),
    /** where the metrics above that collect read from when scraped: the replica node points the proposal counts at its own, the server the spilled bytes at its spill */
    sources,
  };
}
