// Starting, finishing and rolling back the in-flight operation recorded in
// status, and the helpers its drivers share: creating a member's objects,
// building the ChangeMembership request from the real configuration, picking
// a leadership-transfer target, backoff. Pure: actions are returned, never run.
import { createHash } from 'node:crypto';
import type { Operation, OperationMember, OperationType } from '../api/index.ts';
import type { Action } from './actions.ts';
import type { ChangeMembershipRequest } from './admin.ts';
import { hexId } from './admin.ts';
import type { Context, StepResult } from './context.ts';
import { podRunning } from './health.ts';
import { LABEL_RETAINED, peerUrl } from './names.ts';
import { buildMemberPod, buildMemberPvc } from './pod.ts';
import { checkCA, clientServiceIP, memberCertificateAction, notOwnedMessage } from './certificates.ts';
import { rfc3339, millis } from './time.ts';
import { memberCertificateGate } from './steps/cert-manager.ts';
import type { MemberView } from './view.ts';

export interface OperationInit {
  type: OperationType;
  reason: string;
  add?: string[];
  remove?: OperationMember[];
  member?: OperationMember;
  specHash?: string;
  founding?: string[];
  message?: string;
}

/** startOperation records a new operation in the status draft (written before its first action). */
export function startOperation(ctx: Context, init: OperationInit): Operation {
  const op: Operation = {
    id: `${init.type.toLowerCase()}-${ctx.now.toString(36)}`,
    type: init.type,
    reason: init.reason,
    phase: init.type === 'Restart' ? 'WaitingForMember' : (init.add?.length ?? 0) > 0 ? 'CreatingMembers' : 'ChangingMembership',
    add: (init.add ?? []).map((name) => ({ name })),
    remove: init.remove ?? [],
    attempt: 0,
    startedAt: rfc3339(ctx.now),
    deadline: rfc3339(ctx.now + (ctx.spec?.failurePolicy.catchUpTimeoutMs ?? 300_000)),
  };
  if (init.member) op.member = init.member;
  if (init.specHash) op.specHash = init.specHash;
  if (init.founding) op.founding = init.founding;
  if (init.message) op.message = init.message;
  ctx.status.operation = op;
  return op;
}

/** operationMember describes a member as recorded in an operation. */
export function operationMember(m: MemberView, reason?: string): OperationMember {
  const out: OperationMember = { name: m.name };
  if (m.id !== undefined) out.id = hexId(m.id);
  if (reason) out.reason = reason;
  return out;
}

const SUCCESS_EVENT: Record<OperationType, string> = {
  Bootstrap: 'Bootstrapped',
  Replace: 'MemberReplaced',
  ScaleUp: 'ScaledUp',
  ScaleDown: 'ScaledDown',
  RemoveLearners: 'LearnersRemoved',
  Restart: 'MemberRestarted',
};

function describe(op: Operation): string {
  const names = (ms: OperationMember[]) => ms.map((m) => (m.reason ? `${m.name} (${m.reason})` : m.name)).join(', ');
  switch (op.type) {
    case 'Bootstrap':
      return `group formed with ${(op.founding ?? []).join(', ')}`;
    case 'Replace':
      return `replaced ${names(op.remove)} with ${names(op.add)}`;
    case 'ScaleUp':
      return `added ${names(op.add)}`;
    case 'ScaleDown':
      return `removed ${names(op.remove)}`;
    case 'RemoveLearners':
      return `removed learners ${names(op.remove)}`;
    case 'Restart':
      return `restarted ${op.member?.name} with the new pod settings`;
  }
}

/** finishOperation clears a completed operation and reports it. */
export function finishOperation(ctx: Context, op: Operation): StepResult {
  delete ctx.status.operation;
  if (op.type !== 'Restart' && op.type !== 'Bootstrap') delete ctx.status.backoff;
  ctx.events.push({ type: 'Normal', reason: SUCCESS_EVENT[op.type], message: describe(op) });
  return { requeueAfterMs: ctx.options.requeue.busy };
}

/** giveUp clears an operation that was rolled back or cannot finish, and backs off before the next attempt. */
export function giveUp(ctx: Context, op: Operation, why: string): StepResult {
  delete ctx.status.operation;
  const attempts = (ctx.prev.backoff?.attempts ?? 0) + 1;
  const delay = Math.min(ctx.options.backoff.baseMs * 2 ** (attempts - 1), ctx.options.backoff.maxMs);
  ctx.status.backoff = { attempts, notBefore: rfc3339(ctx.now + delay), reason: `${op.type} ${op.id}: ${why}` };
  ctx.events.push({ type: 'Warning', reason: 'ChangeRolledBack', message: `${op.type} (${op.reason}) rolled back: ${why}` });
  if (op.reason === 'RollingUpdate' && op.specHash) {
    const member = op.member?.name ?? op.remove[0]?.name ?? '';
    ctx.status.rolloutBlocked = { specHash: op.specHash, member, reason: why };
  }
  return { requeueAfterMs: ctx.options.requeue.busy };
}

/** pastDeadline says whether the operation's catch-up deadline has passed. */
export function pastDeadline(ctx: Context, op: Operation): boolean {
  const d = millis(op.deadline);
  return d !== undefined && ctx.now > d;
}

/** failed finds a failure report for an action key made since the operation started. */
export function failed(ctx: Context, key: string, op: Operation): string | undefined {
  const since = millis(op.startedAt) ?? 0;
  return ctx.obs.failures?.find((f) => f.key === key && f.at >= since)?.message;
}

/**
 * ensureMemberObjects returns the action that creates a missing volume or pod
 * of `name`, a wait while its old pod terminates, or undefined when both exist.
 */
export function ensureMemberObjects(
  ctx: Context,
  name: string,
  clusterState: 'new' | 'existing',
  initialCluster: string[],
): StepResult | undefined {
  const spec = ctx.spec!;
  const m = ctx.view.members.get(name);
  if (spec.storage && !m?.pvc) {
    const pvc = buildMemberPvc(ctx.group, spec, name);
    return { action: { kind: 'CreatePVC', key: `CreatePVC/${pvc.metadata!.name}`, description: `create volume ${pvc.metadata!.name}`, pvc } };
  }
  if (m?.pod?.metadata?.deletionTimestamp) return { requeueAfterMs: ctx.options.requeue.busy };
  if (!m?.pod) {
    if (spec.tls?.certManager) {
      // The pod mounts the Secret cert-manager writes: its Certificate first, then wait for the Secret.
      const gate = memberCertificateGate(ctx, spec.tls.certManager, name);
      if (gate) return gate;
    } else if (spec.tls) {
      // The pod mounts its certificate Secret: issue it first (the certificates step made sure the CA can sign).
      const secrets = ctx.obs.secrets ?? [];
      const ca = checkCA(ctx.group, spec, secrets, ctx.now);
      if (!ca.ok) return { requeueAfterMs: ctx.options.requeue.busy };
      const a = { group: ctx.group, namespace: ctx.namespace, clusterDomain: ctx.options.clusterDomain, clientServiceIP: clientServiceIP(ctx.name, ctx.obs.services) };
      const issue = memberCertificateAction(a, ca, secrets, name, ctx.now);
      if (issue && 'notOwned' in issue) {
        ctx.events.push({ type: 'Warning', reason: 'SecretNotOwned', message: notOwnedMessage(issue.notOwned, `member ${name}'s`) });
        return { requeueAfterMs: ctx.options.requeue.quorumLost };
      }
      if (issue) return { action: issue, requeueAfterMs: ctx.options.requeue.busy };
    }
    const cluster = [...new Set([...initialCluster, name])];
    const pod = buildMemberPod({ group: ctx.group, spec, member: name, clusterState, initialCluster: cluster, options: ctx.options });
    return {
      action: { kind: 'CreatePod', key: `CreatePod/${name}`, description: `create pod ${name} (${clusterState})`, pod },
    };
  }
  return undefined;
}

/** inConfiguration says whether an id is anywhere in the configuration. */
export function inConfiguration(ctx: Context, id: number | undefined): boolean {
  const c = ctx.view.config;
  if (!c || id === undefined) return false;
  return c.voters.includes(id) || c.outgoing.includes(id) || c.learners.includes(id);
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

export interface MembershipDelta {
  add: string[];
  promote: number[];
  remove: number[];
}

/**
 * membershipRequest renders a ChangeMembership request for `delta`. The
 * request id names the operation, the attempt and the content, so repeating
 * the same intent is idempotent and a changed intent is a new request.
 */
export function membershipRequest(ctx: Context, op: Operation, delta: MembershipDelta, tag = ''): ChangeMembershipRequest {
  const content = JSON.stringify({ add: [...delta.add].sort(), promote: [...delta.promote].sort(), remove: [...delta.remove].sort() });
  return {
    requestId: `${ctx.group.metadata.uid}/${op.id}${tag}.${op.attempt}.${shortHash(content)}`,
    add: delta.add.map((name) => ({ name, peerUrls: [peerUrl(ctx.name, ctx.namespace, name, ctx.options.clusterDomain, !!ctx.spec?.tls)] })),
    promote: delta.promote,
    remove: delta.remove,
    catchUpTimeoutMs: ctx.spec?.failurePolicy.catchUpTimeoutMs ?? 300_000,
  };
}

/** changeAction wraps a request into the action sent to the leader's pod. */
export function changeAction(ctx: Context, request: ChangeMembershipRequest, what: string): Action {
  const leader = ctx.view.nameOf(ctx.view.leaderId!);
  return {
    kind: 'ChangeMembership',
    key: `ChangeMembership/${request.requestId}`,
    description: `${what} via ${leader}`,
    member: leader,
    request,
  };
}

/**
 * pickTransferTarget chooses the voter to hand leadership to: healthy, in
 * C_new, not excluded, most caught up (leader progress), preferring `prefer`.
 */
export function pickTransferTarget(ctx: Context, exclude: ReadonlySet<number>, prefer?: (m: MemberView) => boolean): MemberView | undefined {
  const c = ctx.view.config;
  if (!c) return undefined;
  const candidates = [...ctx.view.members.values()].filter(
    (m) => m.id !== undefined && c.voters.includes(m.id) && !exclude.has(m.id) && m.id !== ctx.view.leaderId && ctx.healthy.has(m.id),
  );
  const score = (m: MemberView) => [prefer?.(m) ? 1 : 0, m.progress?.match ?? 0, -(m.ordinal ?? 1e9)];
  candidates.sort((a, b) => {
    const sa = score(a);
    const sb = score(b);
    for (let i = 0; i < sa.length; i++) if (sa[i] !== sb[i]) return sb[i] - sa[i];
    return 0;
  });
  return candidates[0];
}

/** transferAction hands leadership from the current leader to `target`. */
export function transferAction(ctx: Context, op: Operation, target: MemberView): Action {
  const leader = ctx.view.nameOf(ctx.view.leaderId!);
  return {
    kind: 'TransferLeadership',
    key: `TransferLeadership/${op.id}/${target.name}/${op.attempt}`,
    description: `move leadership from ${leader} to ${target.name} before ${op.type}`,
    member: leader,
    target: target.name,
    request: { target: target.id! },
  };
}

/**
 * removedMemberCleanup deletes what is left of members that are out of the
 * configuration: first the pod, then the volume (kept and labelled instead
 * when the member diverged and failurePolicy.deleteDivergentData is false).
 */
export function removedMemberCleanup(ctx: Context, members: OperationMember[]): Action | undefined {
  for (const r of members) {
    const m = ctx.view.members.get(r.name);
    if (!m) continue;
    if (m.pod && !m.pod.metadata?.deletionTimestamp) {
      return {
        kind: 'DeletePod',
        key: `DeletePod/${r.name}/${m.pod.metadata?.uid ?? ''}`,
        description: `delete pod ${r.name}: no longer a member`,
        name: r.name,
        uid: m.pod.metadata?.uid,
        reason: 'Cleanup',
      };
    }
    if (m.pvc) {
      const name = m.pvc.metadata!.name!;
      if (r.reason === 'Divergent' && !ctx.spec?.failurePolicy.deleteDivergentData) {
        return {
          kind: 'RetainPVC',
          key: `RetainPVC/${name}`,
          description: `keep volume ${name} of divergent member ${r.name} for inspection`,
          name,
          labels: { [LABEL_RETAINED]: 'divergent' },
        };
      }
      return { kind: 'DeletePVC', key: `DeletePVC/${name}/${m.pvc.metadata?.uid ?? ''}`, description: `delete volume ${name}`, name, uid: m.pvc.metadata?.uid, reason: 'Cleanup' };
    }
  }
  return undefined;
}

/** waitingForPod says whether a member's pod is not yet running (so it cannot catch up yet). */
export function waitingForPod(ctx: Context, name: string): boolean {
  const pod = ctx.view.members.get(name)?.pod;
  return !pod || !podRunning(pod);
}
