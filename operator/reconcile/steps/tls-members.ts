// Which members a TLS group keeps certificates for, and what their
// certificates are named after in this pass; shared by the operator-CA and
// cert-manager certificate steps. Pure: must never decide an action.
import { clientServiceIP, type GroupAddressing } from '../certificates.ts';
import { configMembers, type Context } from '../context.ts';

/** addressing is what member certificates are named after in this pass. */
export function addressing(ctx: Context): GroupAddressing {
  return { group: ctx.group, namespace: ctx.namespace, clusterDomain: ctx.options.clusterDomain, clientServiceIP: clientServiceIP(ctx.name, ctx.obs.services) };
}

/** liveMemberNames are members that may still need their certificate: any pod, the configuration, the operation in flight. */
export function liveMemberNames(ctx: Context): Set<string> {
  const op = ctx.status.operation;
  return new Set([
    ...ctx.obs.pods.map((p) => p.metadata?.name ?? ''),
    ...configMembers(ctx).map((m) => m.name),
    ...(op ? [...op.add, ...op.remove].map((m) => m.name) : []),
    ...(op?.member ? [op.member.name] : []),
    ...(op?.founding ?? []),
  ]);
}
