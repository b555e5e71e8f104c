// Writes the observed picture into the status draft at the end of a pass:
// configuration by member names, members with role and health, ready count,
// leader, fault tolerance (desired and honest current), the conditions and the
// phase; and the Events for transitions (quorum lost/restored, a member turning
// unhealthy, an invalid spec). Must never decide actions.
import type { Condition, MemberStatus, Phase, ReplicaGroupStatus } from '../api/index.ts';
import { faultToleranceOf, formatFieldErrors, isUnhealthyStatus } from '../api/index.ts';
import type { GroupEvent } from './actions.ts';
import { hexId } from './admin.ts';
import { getCondition, setCondition, type ConditionValue } from './conditions.ts';
import { configMembers, type Context } from './context.ts';
import { podReady } from './health.ts';
import { selectorString } from './names.ts';
import { configString, currentFaultTolerance, describeQuorum } from './quorum.ts';
import { outdatedMembers } from './steps/rollout.ts';
import { rfc3339 } from './time.ts';
import type { MemberView } from './view.ts';

function role(ctx: Context, m: MemberView): MemberStatus['role'] {
  if (m.id !== undefined && m.id === ctx.view.leaderId) return 'Leader';
  if (m.isLearner) return 'Learner';
  if (m.status && (m.status.role === 'candidate' || m.status.role === 'preCandidate')) return 'Candidate';
  if (m.isVoter || m.isOutgoing) return 'Follower';
  return 'Unknown';
}

function memberStatus(ctx: Context, m: MemberView): MemberStatus {
  const inConfig = m.isVoter || m.isOutgoing || m.isLearner;
  const h = ctx.health.get(m.name)!;
  const health = h.health === 'Unhealthy' && h.reason === 'Divergent' ? 'Divergent' : h.health;
  const out: MemberStatus = { name: m.name, role: role(ctx, m), health: inConfig ? health : 'Unknown' };
  if (m.id !== undefined) out.id = hexId(m.id);
  if (m.pod) out.pod = m.pod.metadata?.name;
  if (m.status) out.appliedIndex = m.status.appliedIndex;
  if (m.lag !== undefined) out.lag = m.lag;
  if (inConfig && h.health === 'Unhealthy') {
    out.reason = h.reason;
    out.message = h.message;
    if (h.since !== undefined) out.unhealthySince = rfc3339(h.since);
  } else if (!inConfig) {
    out.message = ctx.status.operation?.add.some((a) => a.name === m.name) ? 'joining' : 'not in the configuration';
  }
  return out;
}

function byOrdinal(a: MemberView, b: MemberView): number {
  return (a.ordinal ?? 1e9) - (b.ordinal ?? 1e9) || a.name.localeCompare(b.name);
}

/** bootstrapping: the group has not formed yet (a Bootstrap is in flight, or nothing is known). */
export function bootstrapping(ctx: Context): boolean {
  return ctx.status.operation?.type === 'Bootstrap' || (ctx.view.configSource === 'none' && !(ctx.prev.members ?? []).some((m) => m.id));
}

/**
 * unreachableButReady: no member answered Status while some pods are Ready —
 * more likely the operator cannot reach them than a lost quorum, so quorum is
 * reported Unknown rather than False (and nothing is changed either way).
 */
function unreachableButReady(ctx: Context): boolean {
  const members = [...ctx.view.members.values()];
  return !members.some((m) => m.status) && members.some((m) => m.pod && podReady(m.pod));
}

function conditions(ctx: Context): Record<Condition['type'], ConditionValue> {
  const cfg = ctx.view.config;
  const members = configMembers(ctx);
  const unhealthy = members.filter((m) => ctx.health.get(m.name)?.health !== 'Healthy');
  const notReady = members.filter((m) => !m.pod || !podReady(m.pod));
  const op = ctx.status.operation;
  const ft = ctx.status.faultTolerance!;
  const quorum = cfg ? describeQuorum(cfg, ctx.healthy) : 'configuration unknown';
  const block = ctx.status.rolloutBlocked;
  const unresolved = ctx.divergence.unresolved;
  return {
    Quorate: bootstrapping(ctx)
      ? { status: 'Unknown', reason: 'Bootstrapping', message: 'the founding members have not elected a leader yet' }
      : unreachableButReady(ctx)
        ? { status: 'Unknown', reason: 'MembersUnreachable', message: 'no member answers the admin API although pods are Ready; nothing is changed until they answer' }
      : ctx.quorate
        ? { status: 'True', reason: 'QuorumHealthy', message: quorum }
        : { status: 'False', reason: 'QuorumLost', message: `${quorum}; no destructive action until a quorum is healthy again` },
    Available:
      ctx.view.leaderId === undefined
        ? { status: 'False', reason: 'NoLeader', message: 'no member reports a leader' }
        : notReady.length > 0 || members.length === 0
          ? { status: 'False', reason: 'MembersNotReady', message: `not Ready: ${notReady.map((m) => m.name).join(', ')}` }
          : { status: 'True', reason: 'LeaderAndMembersReady', message: `${ctx.view.nameOf(ctx.view.leaderId)} leads; every member is Ready` },
    Degraded:
      unhealthy.length > 0
        ? { status: 'True', reason: 'MembersUnhealthy', message: unhealthy.map((m) => `${m.name}: ${ctx.health.get(m.name)!.reason}`).join('; ') }
        : ft.current < ft.desired
          ? { status: 'True', reason: 'FaultToleranceReduced', message: `tolerates ${ft.current} failures, ${ft.desired} desired` }
          : { status: 'False', reason: 'Healthy', message: `tolerates ${ft.current} member failures` },
    Reconfiguring: op
      ? { status: 'True', reason: op.type, message: `${op.id} ${op.phase}${op.message ? `: ${op.message}` : ''}` }
      : cfg?.joint
        ? { status: 'True', reason: 'JointConfiguration', message: configString(cfg, ctx.view.nameOf) }
        : { status: 'False', reason: 'Stable', message: cfg ? configString(cfg, ctx.view.nameOf) : 'configuration unknown' },
    InvalidSpec: ctx.specErrors.length
      ? { status: 'True', reason: 'InvalidSpec', message: formatFieldErrors(ctx.specErrors) }
      : { status: 'False', reason: 'Valid', message: 'spec is valid' },
    DivergenceUnresolved: unresolved.length
      ? {
          status: 'True',
          reason: 'NoMajority',
          message: unresolved
            .map((u) => `checkpoint ${u.index}: ${Object.entries(u.digests).map(([d, ms]) => `${d} by ${ms.join(',')}`).join(' vs ')}`)
            .join('; ') + '; no member is removed for divergence until a majority agrees',
        }
      : { status: 'False', reason: 'NoDisagreement', message: 'no unresolved digest disagreement' },
    RolloutStuck:
      block && block.specHash === ctx.specHash
        ? { status: 'True', reason: 'MemberDidNotComeBack', message: `${block.member}: ${block.reason}; change the spec to retry` }
        : { status: 'False', reason: 'NotStuck', message: '' },
  };
}

function phase(ctx: Context): Phase {
  if (ctx.group.metadata.deletionTimestamp) return 'Deleting';
  if (ctx.specErrors.length) return 'Invalid';
  if (ctx.spec?.paused) return 'Paused';
  if (bootstrapping(ctx)) return 'Bootstrapping';
  if (!ctx.quorate) return unreachableButReady(ctx) ? 'Degraded' : 'QuorumLost';
  const op = ctx.status.operation;
  if (op?.type === 'Restart' || op?.reason === 'RollingUpdate') return 'Updating';
  if (op || ctx.view.config?.joint) return 'Reconfiguring';
  if (outdatedMembers(ctx).length > 0 && !ctx.status.rolloutBlocked) return 'Updating';
  if (getCondition(ctx.status.conditions, 'Degraded')?.status === 'True') return 'Degraded';
  if (getCondition(ctx.status.conditions, 'Available')?.status === 'True') return 'Available';
  return 'Pending';
}

/** finishStatus fills the status draft from the pass's observations. */
export function finishStatus(ctx: Context): void {
  const s = ctx.status;
  const cfg = ctx.view.config;
  const names = (ids: number[]) => ids.map(ctx.view.nameOf).sort();
  s.selector = selectorString(ctx.name);
  if (cfg) s.configuration = { voters: names(cfg.voters), outgoing: names(cfg.outgoing), learners: names(cfg.learners), joint: cfg.joint };
  s.replicas = cfg ? cfg.voters.length : (ctx.prev.replicas ?? 0);
  const members = [...ctx.view.members.values()].sort(byOrdinal);
  s.members = members.map((m) => memberStatus(ctx, m));
  s.readyReplicas = configMembers(ctx).filter((m) => m.pod && podReady(m.pod)).length;
  if (ctx.view.leaderId !== undefined) s.leader = ctx.view.nameOf(ctx.view.leaderId);
  else delete s.leader;
  const desired = ctx.spec?.replicas ?? s.replicas;
  s.faultTolerance = { desired: faultToleranceOf(desired), current: cfg && ctx.quorate ? currentFaultTolerance(cfg, ctx.healthy) : 0 };
  let conds = s.conditions ?? [];
  const values = conditions(ctx);
  for (const type of ['Available', 'Quorate', 'Reconfiguring', 'Degraded'] as const) conds = setCondition(conds, type, values[type], ctx.generation, ctx.now);
  for (const type of ['InvalidSpec', 'DivergenceUnresolved', 'RolloutStuck'] as const) conds = setCondition(conds, type, values[type], ctx.generation, ctx.now);
  s.conditions = conds;
  s.phase = phase(ctx);
}

/** transitionEvents compares the previous status with the new one. */
export function transitionEvents(ctx: Context, prev: ReplicaGroupStatus, next: ReplicaGroupStatus): GroupEvent[] {
  const out: GroupEvent[] = [];
  const was = (t: Condition['type']) => getCondition(prev.conditions, t);
  const now = (t: Condition['type']) => getCondition(next.conditions, t)!;
  const q = now('Quorate');
  if (q.status === 'False' && was('Quorate')?.status !== 'False') out.push({ type: 'Warning', reason: 'QuorumLost', message: q.message });
  if (q.status === 'True' && was('Quorate')?.status === 'False') out.push({ type: 'Normal', reason: 'QuorumRestored', message: q.message });
  const inv = now('InvalidSpec');
  if (inv.status === 'True' && (was('InvalidSpec')?.status !== 'True' || was('InvalidSpec')?.observedGeneration !== ctx.generation)) {
    out.push({ type: 'Warning', reason: 'InvalidSpec', message: `${inv.message}; nothing is changed until the spec is fixed` });
  }
  const div = now('DivergenceUnresolved');
  if (div.status === 'True' && was('DivergenceUnresolved')?.status !== 'True') out.push({ type: 'Warning', reason: 'DivergenceUnresolved', message: div.message });
  const prevHealth = new Map((prev.members ?? []).map((m) => [m.name, m]));
  // While the founding members start, being unhealthy is their expected state: no Warnings.
  const forming = next.operation?.type === 'Bootstrap';
  for (const m of forming ? [] : (next.members ?? [])) {
    // Starting is expected of a new or restarted member: no Warning unless it goes on to something else.
    if (!isUnhealthyStatus(m) || m.reason === 'Starting') continue;
    const p = prevHealth.get(m.name);
    if (isUnhealthyStatus(p) && p!.reason === m.reason) continue;
    out.push({ type: 'Warning', reason: m.reason === 'Divergent' ? 'MemberDivergent' : 'MemberUnhealthy', message: `${m.name}: ${m.reason}: ${m.message ?? ''}` });
  }
  return out;
}
