// Keeps a TLS group's certificate Secrets in place: the CA (created when the
// operator runs it; a missing or unusable user CA stops the pass with a
// Warning), the operator's client certificate, the application client
// certificate when asked, the certificates of running members (reissued
// before they expire, when their names or the CA change, into the same
// Secret: members reload the files, pods are not restarted), and deletes the
// Secrets of members that left. A member about to be created gets its
// certificate from ensureMemberObjects. With spec.tls.certManager it keeps
// cert-manager Certificates instead (steps/cert-manager.ts) and never signs
// or rotates. Must never touch pods or volumes.
import {
  CA_VALIDITY_DAYS,
  applicationCertificate,
  certificateProblem,
  checkCA,
  issueAction,
  memberCertificateAction,
  notOwnedMessage,
  operatorCertificate,
  operatorSecretName,
  ownedBy,
  secretMetadata,
} from '../certificates.ts';
import type { Context, Step, StepResult } from '../context.ts';
import { caSecretName } from '../names.ts';
import { certManagerCertificates } from './cert-manager.ts';
import { addressing, deleteUnneededSecret, liveMemberNames, noLongerNeeded } from './tls-members.ts';

export const certificates: Step = {
  name: 'certificates',
  run(ctx: Context): StepResult | undefined {
    const tls = ctx.spec?.tls;
    if (!tls) return undefined;
    // cert-manager issues and renews: the operator only keeps the Certificates in place.
    if (tls.certManager) return certManagerCertificates(ctx, tls.certManager);
    const busy = ctx.options.requeue.busy;
    const secrets = ctx.obs.secrets ?? [];
    const caSecret = secrets.find((s) => s.metadata?.name === (tls.caSecretName ?? caSecretName(ctx.name)));
    if (!tls.caSecretName && caSecret && !ownedBy(ctx.group, caSecret)) {
      // Someone else's Secret has the name of the group's own CA: neither used nor overwritten.
      ctx.events.push({ type: 'Warning', reason: 'SecretNotOwned', message: `${notOwnedMessage(caSecret.metadata!.name!, "group's CA")}, or name it in spec.tls.caSecretName to use it as the CA` });
      return { requeueAfterMs: ctx.options.requeue.quorumLost };
    }
    const ca = checkCA(ctx.group, ctx.spec!, secrets, ctx.now);
    if (!ca.ok) {
      if (ca.managed && ca.missing) {
        return {
          action: {
            kind: 'CreateCertificateAuthority',
            key: `CreateCertificateAuthority/${ca.name}`,
            description: `create the group's CA in Secret ${ca.name}`,
            metadata: secretMetadata(ctx.group, ca.name, 'ca'),
            commonName: `${ctx.namespace}/${ctx.name} replicant CA`,
            validityDays: CA_VALIDITY_DAYS,
          },
          requeueAfterMs: busy,
        };
      }
      // Nothing can be issued; members keep the certificates they have.
      ctx.events.push({ type: 'Warning', reason: 'CertificateAuthorityUnusable', message: ca.problem });
      return { requeueAfterMs: ctx.options.requeue.quorumLost };
    }
    const find = (name: string) => secrets.find((s) => s.metadata?.name === name);

    const opName = operatorSecretName(ctx.group);
    const opSecret = find(opName);
    if (opSecret && !ownedBy(ctx.group, opSecret)) {
      ctx.events.push({ type: 'Warning', reason: 'SecretNotOwned', message: notOwnedMessage(opName, "operator's") });
      return { requeueAfterMs: ctx.options.requeue.quorumLost };
    }
    const opWant = operatorCertificate();
    const opProblem = certificateProblem(opSecret, opWant, ca.certificatePem, ctx.now);
    if (opProblem) return { action: issueAction(ctx.group, ca.name, secretMetadata(ctx.group, opName, 'operator'), opSecret, opWant, opProblem), requeueAfterMs: busy };

    if (tls.clientCertSecretName) {
      const name = tls.clientCertSecretName;
      const secret = find(name);
      if (secret && !ownedBy(ctx.group, secret)) {
        ctx.events.push({
          type: 'Warning',
          reason: 'ClientSecretNotOwned',
          message: `Secret ${name} (spec.tls.clientCertSecretName) exists and does not belong to this group; delete it or name another Secret, the operator will not overwrite it`,
        });
      } else {
        const want = applicationCertificate(ctx.name, name);
        const problem = certificateProblem(secret, want, ca.certificatePem, ctx.now);
        if (problem) return { action: issueAction(ctx.group, ca.name, secretMetadata(ctx.group, name, 'client'), secret, want, problem), requeueAfterMs: busy };
      }
    }

    // Running members: rotation (a member about to be created is handled where its pod is made).
    const a = addressing(ctx);
    const live = liveMemberNames(ctx);
    for (const m of ctx.view.members.values()) {
      if (!m.pod || m.pod.metadata?.deletionTimestamp || !live.has(m.name)) continue;
      const action = memberCertificateAction(a, ca, secrets, m.name, ctx.now);
      if (action && 'notOwned' in action) {
        // The member keeps the files it has; nothing else is held up.
        ctx.events.push({ type: 'Warning', reason: 'SecretNotOwned', message: notOwnedMessage(action.notOwned, `member ${m.name}'s`) });
        continue;
      }
      if (action) return { action, requeueAfterMs: busy };
    }

    // Secrets nobody needs: members gone from pods and configuration, an application Secret renamed.
    if (ctx.view.configSource === 'leader') {
      const gone = secrets.find((s) => ownedBy(ctx.group, s) && noLongerNeeded(s.metadata, live, tls.clientCertSecretName));
      if (gone) return deleteUnneededSecret(gone, busy);
    }
    return undefined;
  },
};
