// Which members a TLS group keeps certificates for, what their certificates
// are named after in this pass, which of the group's certificates nobody needs
// any more, and the step that deletes such a Secret; shared by the
// operator-CA and cert-manager certificate steps. Pure: it must never look
// beyond the context it is given.
import type { V1Secret } from '@kubernetes/client-node';
import { clientServiceIP, type GroupAddressing } from '../certificates.ts';
import { configMembers, type Context, type StepResult } from '../context.ts';
import { LABEL_CERTIFICATE, LABEL_MEMBER } from '../names.ts';

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


/**
 * noLongerNeeded tells whether a certificate object of the group (its Secret,
 * or its cert-manager Certificate, by labels and name) serves nobody now: a
 * member gone from pods, configuration and the operation in flight (`live`),
 * or an application Secret that spec.tls.clientCertSecretName no longer names.
 * The operator's and the CA's are always needed.
 */
export function noLongerNeeded(meta: { labels?: Record<string, string>; name?: string } | undefined, live: Set<string>, clientCertSecretName: string | undefined): boolean {
  const purpose = meta?.labels?.[LABEL_CERTIFICATE];
  if (purpose === 'member') return !live.has(meta?.labels?.[LABEL_MEMBER] ?? '');
  if (purpose === 'client') return meta?.name !== clientCertSecretName;
  return false;
}

/** deleteUnneededSecret is the step that deletes a certificate Secret nobody needs (see noLongerNeeded). */
export function deleteUnneededSecret(secret: V1Secret, requeueAfterMs: number): StepResult {
  const name = secret.metadata!.name!;
  return {
    action: { kind: 'DeleteSecret', key: `DeleteSecret/${name}`, description: `delete Secret ${name}: no member or setting uses it any more`, name, uid: secret.metadata?.uid },
    requeueAfterMs,
  };
}
