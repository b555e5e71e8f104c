// The Context of one planning pass: Observed plus everything derived from it
// once (validated spec, the group view, each member's health, divergence,
// quorum) and the status being drafted. Steps read it and may change only
// ctx.status (the draft) and ctx.events. Pure: must never perform I/O.
import type { ReplicaGroup, ReplicaGroupStatus, ResolvedSpec, FieldError } from '../api/index.ts';
import { resolveSpec, validateGroup } from '../api/index.ts';
import type { Action, GroupEvent } from './actions.ts';
import { tlsModeErrors } from './certificates.ts';
import { voteOnCheckpoints, type DivergenceVerdict } from './divergence.ts';
import { classifyMember, type HealthVerdict } from './health.ts';
import { LABEL_RETAINED, memberName, ordinalOf } from './names.ts';
import type { Observed } from './observed.ts';
import type { PlannerOptions } from './options.ts';
import { podSpecHash } from './pod.ts';
import { hasHealthyQuorum } from './quorum.ts';
import { buildView, type GroupView, type MemberView } from './view.ts';

export interface Context {
  obs: Observed;
  now: number;
  options: PlannerOptions;
  group: ReplicaGroup;
  name: string;
  namespace: string;
  generation: number;
  /** prev is the status as read (never modified). */
  prev: ReplicaGroupStatus;
  specErrors: FieldError[];
  /** spec is the resolved spec; undefined when the spec is invalid. */
  spec?: ResolvedSpec;
  /** specHash is the pod settings hash members should run with. */
  specHash?: string;
  view: GroupView;
  health: Map<string, HealthVerdict>;
  /** healthy are the ids of Healthy members. */
  healthy: Set<number>;
  /** quorate: every half of the configuration has a healthy majority. */
  quorate: boolean;
  divergence: DivergenceVerdict;
  /** status is the draft steps amend (operation, backoff, rollout block, ordinals, observedGeneration). */
  status: ReplicaGroupStatus;
  events: GroupEvent[];
}

/** StepResult ends the pass: optionally one action, and when to come back. */
export interface StepResult {
  action?: Action;
  requeueAfterMs?: number;
}

/** Step is one small, idempotent reconcile step: it acts (returns a result) or passes (undefined). */
export interface Step {
  name: string;
  run(ctx: Context): StepResult | undefined;
}

const FALLBACK_POLICY = resolveSpec({}).failurePolicy;

/** buildContext derives everything a pass needs from Observed. */
export function buildContext(obs: Observed, options: PlannerOptions): Context {
  const group = obs.group;
  const prev = group.status ?? {};
  const specErrors = validateGroup(group);
  if (specErrors.length === 0) specErrors.push(...tlsModeErrors(resolveSpec(group.spec), obs.pods));
  const spec = specErrors.length === 0 ? resolveSpec(group.spec) : undefined;
  const view = buildView(obs);
  const policy = spec?.failurePolicy ?? FALLBACK_POLICY;
  const config = view.config;

  const reports = [...view.members.values()]
    .filter((m) => m.status && (m.isVoter || m.isOutgoing || m.isLearner))
    .map((m) => ({ member: m.name, checkpoints: m.status!.checkpoints }));
  const divergence = voteOnCheckpoints(reports, config ? config.voters.length : 0);
  const divergentByName = new Map(divergence.divergent.map((d) => [d.member, d]));

  const health = new Map<string, HealthVerdict>();
  const healthy = new Set<number>();
  for (const m of view.members.values()) {
    const nodeName = m.pod?.spec?.nodeName;
    const node = nodeName ? (obs.nodes.find((n) => n.metadata?.name === nodeName) ?? (obs.nodes.length > 0 ? null : undefined)) : undefined;
    const verdict = classifyMember({
      now: obs.now,
      pod: m.pod,
      node,
      probe: m.probe,
      hasVolume: !!spec?.storage && !!m.pvc,
      storage: !!spec?.storage,
      lag: m.lag,
      divergent: divergentByName.get(m.name),
      previous: m.previous,
      policy,
    });
    health.set(m.name, verdict);
    if (verdict.health === 'Healthy' && m.id !== undefined) healthy.add(m.id);
  }
  return {
    obs,
    now: obs.now,
    options,
    group,
    name: group.metadata.name!,
    namespace: group.metadata.namespace ?? 'default',
    generation: group.metadata.generation ?? 0,
    prev,
    specErrors,
    spec,
    specHash: spec ? podSpecHash(spec, options) : undefined,
    view,
    health,
    healthy,
    quorate: !!config && hasHealthyQuorum(config, healthy),
    divergence,
    status: structuredClone(prev),
    events: [],
  };
}

/** configMembers are the views of members in the configuration (voters, outgoing, learners). */
export function configMembers(ctx: Context): MemberView[] {
  return [...ctx.view.members.values()].filter((m) => m.isVoter || m.isOutgoing || m.isLearner);
}

/** voterNames are the names of C_new's voters. */
export function voterNames(ctx: Context): string[] {
  return (ctx.view.config?.voters ?? []).map((id) => ctx.view.nameOf(id));
}

/**
 * allocateNames hands out `n` new member names with ordinals never used
 * before: above status.nextOrdinal and above every ordinal seen in pods,
 * volumes (retained ones too), the configuration and the status.
 */
export function allocateNames(ctx: Context, n: number): string[] {
  let next = ctx.status.nextOrdinal ?? 0;
  const seen = [
    ...ctx.view.members.keys(),
    ...ctx.obs.pvcs.filter((p) => p.metadata?.labels?.[LABEL_RETAINED]).map((p) => p.metadata?.name?.replace(/^data-/, '') ?? ''),
    ...(ctx.prev.members ?? []).map((m) => m.name),
  ];
  for (const name of seen) {
    const o = ordinalOf(ctx.name, name);
    if (o !== undefined && o >= next) next = o + 1;
  }
  const names = Array.from({ length: n }, (_, i) => memberName(ctx.name, next + i));
  ctx.status.nextOrdinal = next + n;
  return names;
}
