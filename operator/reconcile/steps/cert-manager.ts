// The certificates step in cert-manager mode (spec.tls.certManager): keeps a
// cert-manager.io/v1 Certificate for the operator's client identity, for the
// application client Secret when asked, and for every running member (created
// when missing, updated when what it must say changed: cert-manager then
// reissues); waits, with an Event, until the operator's Secret is usable;
// gives the Secrets cert-manager wrote an owner reference to the group; and
// deletes the Certificate, then the Secret, of a member that left. Also the
// gate a new member's pod passes: its Certificate exists and its Secret holds
// tls.crt, tls.key and ca.crt. Must never sign, and never renew: cert-manager
// renews in this mode.
import type { V1Secret } from '@kubernetes/client-node';
import type { ResolvedCertManager } from '../../api/index.ts';
import type { Action, CertificateRequestSpec } from '../actions.ts';
import {
  adoptionOwnerReferences,
  certificateNeedsUpdate,
  desiredCertificate,
  heldByGroup,
  issuedSecretProblem,
  readyCondition,
  type CertManagerCertificate,
} from '../cert-manager.ts';
import {
  applicationCertificate,
  memberCertificate,
  notOwnedMessage,
  operatorCertificate,
  operatorSecretName,
  ownedBy,
  type CertificatePurpose,
} from '../certificates.ts';
import type { Context, StepResult } from '../context.ts';
import { memberTlsSecretName } from '../names.ts';
import { addressing, deleteUnneededSecret, liveMemberNames, noLongerNeeded } from './tls-members.ts';

interface Wanted {
  secretName: string;
  purpose: Exclude<CertificatePurpose, 'ca'>;
  want: CertificateRequestSpec;
  member?: string;
  /** whose certificate it is, for messages. */
  whose: string;
}

type Ensured = { action: Action } | { notOwned: string; kind: 'Secret' | 'Certificate' } | undefined;

const find = <T extends { metadata?: { name?: string } }>(list: T[], name: string) => list.find((o) => o.metadata?.name === name);

/** certificatesUnreadable: without the Certificates list nothing can be decided (cert-manager's CRD missing, RBAC). */
function certificatesUnreadable(ctx: Context): StepResult {
  ctx.events.push({
    type: 'Warning',
    reason: 'CertManagerUnavailable',
    message: `cannot read cert-manager Certificates (${ctx.obs.certificatesError ?? 'not read'}); spec.tls.certManager needs cert-manager installed (the certificates.cert-manager.io CRD) and the operator allowed to use it`,
  });
  return { requeueAfterMs: ctx.options.requeue.quorumLost };
}

/** ensureCertificate returns the action that creates or updates the Certificate for `w`, or says what is in the way. */
function ensureCertificate(ctx: Context, cm: ResolvedCertManager, certs: CertManagerCertificate[], w: Wanted): Ensured {
  const desired = desiredCertificate(ctx.group, cm, w.secretName, w.purpose, w.want, w.member);
  const actual = find(certs, w.secretName);
  if (!actual) {
    const secret = find(ctx.obs.secrets ?? [], w.secretName);
    // cert-manager would overwrite a Secret of that name: never hand it someone else's.
    if (secret && !heldByGroup(ctx.group, secret)) return { notOwned: w.secretName, kind: 'Secret' };
    return {
      action: {
        kind: 'CreateCertificate',
        key: `CreateCertificate/${w.secretName}`,
        description: `create cert-manager Certificate ${w.secretName} for ${w.whose} (issuer ${cm.issuerRef.kind}/${cm.issuerRef.name})`,
        certificate: desired,
      },
    };
  }
  if (!ownedBy(ctx.group, actual as V1Secret)) return { notOwned: w.secretName, kind: 'Certificate' };
  if (certificateNeedsUpdate(actual, desired)) {
    return {
      action: {
        kind: 'UpdateCertificate',
        key: `UpdateCertificate/${w.secretName}`,
        description: `update cert-manager Certificate ${w.secretName} for ${w.whose} (what it must say changed; cert-manager reissues)`,
        certificate: desired,
        ...(actual.metadata?.resourceVersion ? { resourceVersion: actual.metadata.resourceVersion } : {}),
      },
    };
  }
  return undefined;
}

function notOwnedEvent(ctx: Context, e: { notOwned: string; kind: 'Secret' | 'Certificate' }, whose: string): void {
  const message =
    e.kind === 'Secret'
      ? `${notOwnedMessage(e.notOwned, whose)}; cert-manager would overwrite it, so no Certificate is made for it`
      : `cert-manager Certificate ${e.notOwned} exists and does not belong to this group, so the ${whose} certificate cannot be issued through it; delete or rename it`;
  ctx.events.push({ type: 'Warning', reason: e.kind === 'Secret' ? 'SecretNotOwned' : 'CertificateNotOwned', message });
}

/** waitingFor reports (Normal Event) that something waits for cert-manager to fill a Secret, with the Certificate's own Ready message. */
function waitingFor(ctx: Context, cert: CertManagerCertificate | undefined, secretName: string, problem: string, what: string): StepResult {
  const ready = readyCondition(cert);
  const says = ready && ready.status !== 'True' ? `; Certificate ${secretName} Ready=${ready.status}${ready.reason ? ` (${ready.reason})` : ''}${ready.message ? `: ${ready.message}` : ''}` : '';
  ctx.events.push({
    type: 'Normal',
    reason: 'WaitingForCertificate',
    message: `waiting for cert-manager to issue Certificate ${secretName} into Secret ${secretName} (${problem})${says}; ${what}`,
  });
  return { requeueAfterMs: ctx.options.requeue.busy };
}

function memberWanted(ctx: Context, member: string): Wanted {
  return { secretName: memberTlsSecretName(member), purpose: 'member', want: memberCertificate(addressing(ctx), member), member, whose: `member ${member}'s` };
}

/** certManagerCertificates is the certificates step when cert-manager issues. */
export function certManagerCertificates(ctx: Context, cm: ResolvedCertManager): StepResult | undefined {
  const certs = ctx.obs.certificates;
  if (!certs) return certificatesUnreadable(ctx);
  const busy = ctx.options.requeue.busy;
  const secrets = ctx.obs.secrets ?? [];
  const tls = ctx.spec!.tls!;

  const opName = operatorSecretName(ctx.group);
  const wanted: Wanted[] = [{ secretName: opName, purpose: 'operator', want: operatorCertificate(), whose: "operator's" }];
  if (tls.clientCertSecretName) {
    wanted.push({ secretName: tls.clientCertSecretName, purpose: 'client', want: applicationCertificate(ctx.name, tls.clientCertSecretName), whose: 'application client' });
  }
  const live = liveMemberNames(ctx);
  for (const m of ctx.view.members.values()) {
    // Running members (a member about to be created is handled where its pod is made).
    if (m.pod && !m.pod.metadata?.deletionTimestamp && live.has(m.name)) wanted.push(memberWanted(ctx, m.name));
  }
  for (const w of wanted) {
    const r = ensureCertificate(ctx, cm, certs, w);
    if (r && 'action' in r) return { action: r.action, requeueAfterMs: busy };
    if (r) {
      notOwnedEvent(ctx, r, w.whose);
      // Without its own identity the operator cannot reach the members; anything else waits alone.
      if (w.purpose === 'operator') return { requeueAfterMs: ctx.options.requeue.quorumLost };
    }
  }

  const opProblem = issuedSecretProblem(find(secrets, opName));
  if (opProblem) return waitingFor(ctx, find(certs, opName), opName, opProblem, 'the operator calls the members with it');

  // Secrets written for the group's Certificates go with the group (cert-manager sets no owner reference by default).
  for (const c of certs) {
    if (!ownedBy(ctx.group, c as V1Secret)) continue;
    const secret = find(secrets, c.spec?.secretName ?? '');
    if (!secret || !heldByGroup(ctx.group, secret)) continue;
    const refs = adoptionOwnerReferences(ctx.group, secret);
    if (!refs) continue;
    const name = secret.metadata!.name!;
    return {
      action: {
        kind: 'AdoptSecret',
        key: `AdoptSecret/${name}`,
        description: `make Secret ${name} (written by cert-manager) owned by the group`,
        name,
        ...(secret.metadata?.resourceVersion ? { resourceVersion: secret.metadata.resourceVersion } : {}),
        ownerReferences: refs,
      },
      requeueAfterMs: busy,
    };
  }

  // Certificates and Secrets nobody needs: members gone from pods and configuration, an application Secret renamed.
  if (ctx.view.configSource === 'leader') {
    const unneeded = (meta: { labels?: Record<string, string>; name?: string } | undefined) => noLongerNeeded(meta, live, tls.clientCertSecretName);
    const goneCert = certs.find((c) => ownedBy(ctx.group, c as V1Secret) && unneeded(c.metadata));
    if (goneCert) {
      const name = goneCert.metadata!.name!;
      return {
        action: { kind: 'DeleteCertificate', key: `DeleteCertificate/${name}`, description: `delete cert-manager Certificate ${name}: no member or setting uses it any more`, name, uid: goneCert.metadata?.uid },
        requeueAfterMs: busy,
      };
    }
    // Only once its Certificate is gone, or cert-manager would write the Secret again.
    const goneSecret = secrets.find((s) => heldByGroup(ctx.group, s) && unneeded(s.metadata) && !find(certs, s.metadata?.name ?? ''));
    if (goneSecret) return deleteUnneededSecret(goneSecret, busy);
  }
  return undefined;
}

/**
 * memberCertificateGate is what a new member's pod waits for in cert-manager
 * mode: its Certificate (created here when missing) and a usable Secret.
 * Undefined when the pod may be created.
 */
export function memberCertificateGate(ctx: Context, cm: ResolvedCertManager, member: string): StepResult | undefined {
  const certs = ctx.obs.certificates;
  if (!certs) return certificatesUnreadable(ctx);
  const w = memberWanted(ctx, member);
  const r = ensureCertificate(ctx, cm, certs, w);
  if (r && 'action' in r) return { action: r.action, requeueAfterMs: ctx.options.requeue.busy };
  if (r) {
    notOwnedEvent(ctx, r, w.whose);
    return { requeueAfterMs: ctx.options.requeue.quorumLost };
  }
  const problem = issuedSecretProblem(find(ctx.obs.secrets ?? [], w.secretName));
  if (problem) return waitingFor(ctx, find(certs, w.secretName), w.secretName, problem, `pod ${member} is created once it holds tls.crt, tls.key and ca.crt`);
  return undefined;
}
