// A tiny stand-in for cert-manager with a CA Issuer, for the operator's
// end-to-end tests on localkube: installs a minimal certificates.cert-manager.io
// CRD, then watches Certificates through the API (client-node's Watch, the way
// a controller would) and writes each one's kubernetes.io/tls Secret, signed
// by a test CA with operator/pki, ca.crt included (as cert-manager's CA issuer
// does); a resync every second also rewrites a Secret that was deleted or whose
// Certificate changed. Test tooling: must never outlive its test (stop() in
// t.after) and never talk to anything but the localkube it was given.
import * as k8s from '@kubernetes/client-node';
import { createCertificateAuthority, type Issuer } from '../../../operator/pki/index.ts';
import type { CertManagerCertificate } from '../../../operator/reconcile/index.ts';
import { issuedSecret } from '../../../operator/reconcile/testing/fake-issuer.ts';
import { waitFor, type Localkube } from '../../localkube/index.ts';
import type { OperatorEnv } from './env.ts';
import { NAMESPACE } from './env.ts';

/** CERTIFICATE_CRD is the smallest CRD that serves cert-manager.io/v1 Certificates (schema left open, as cert-manager's is large). */
export const CERTIFICATE_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'certificates.cert-manager.io' },
  spec: {
    group: 'cert-manager.io',
    scope: 'Namespaced',
    names: { kind: 'Certificate', listKind: 'CertificateList', plural: 'certificates', singular: 'certificate', shortNames: ['cert', 'certs'] },
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
  },
};

const PATH = `/apis/cert-manager.io/v1/namespaces/${NAMESPACE}/certificates`;

export class FakeCertManager {
  readonly ca: Issuer;
  /** watchEvents counts the Certificate events the watch delivered (proof that localkube watches custom resources). */
  watchEvents = 0;
  /** issued counts Secrets written. */
  issued = 0;
  private readonly kc: k8s.KubeConfig;
  private readonly core: k8s.CoreV1Api;
  private readonly custom: k8s.CustomObjectsApi;
  private readonly done = new Map<string, string>();
  private request?: AbortController;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private busy = Promise.resolve();

  private constructor(lk: Localkube) {
    this.kc = new k8s.KubeConfig();
    this.kc.loadFromFile(lk.kubeconfigPath);
    this.core = this.kc.makeApiClient(k8s.CoreV1Api);
    this.custom = this.kc.makeApiClient(k8s.CustomObjectsApi);
    this.ca = createCertificateAuthority({ commonName: 'fake cert-manager CA issuer', validityDays: 30 });
  }

  /** start installs the CRD (with the real kubectl) and starts issuing; stop it in t.after. */
  static async start(env: OperatorEnv): Promise<FakeCertManager> {
    await env.apply(CERTIFICATE_CRD);
    await waitFor('the Certificate kind to be served', () => !!env.lk.api.kinds.byApiVersionKind('cert-manager.io/v1', 'Certificate'), 20_000);
    const f = new FakeCertManager(env.lk);
    await f.watch();
    f.timer = setInterval(() => f.enqueue(() => f.resync()), 1000);
    return f;
  }

  private enqueue(fn: () => Promise<void>): void {
    this.busy = this.busy.then(fn).catch(() => undefined);
  }

  private async watch(): Promise<void> {
    if (this.stopped) return;
    this.request = await new k8s.Watch(this.kc).watch(
      PATH,
      {},
      (type: string, obj: CertManagerCertificate) => {
        this.watchEvents++;
        if (type === 'ADDED' || type === 'MODIFIED') this.enqueue(() => this.issue(obj));
      },
      // The stream ended (timeout, error): watch again, as an informer would.
      () => {
        if (!this.stopped) setTimeout(() => void this.watch().catch(() => undefined), 200);
      },
    );
  }

  private async resync(): Promise<void> {
    const list = (await this.custom.listNamespacedCustomObject({ group: 'cert-manager.io', version: 'v1', namespace: NAMESPACE, plural: 'certificates' })) as { items: CertManagerCertificate[] };
    for (const c of list.items) await this.issue(c);
  }

  /** issue writes the Certificate's Secret when it is missing or the Certificate asks for something new. */
  private async issue(c: CertManagerCertificate): Promise<void> {
    if (this.stopped || !c.spec?.secretName) return;
    const wanted = JSON.stringify(c.spec);
    const name = c.spec.secretName;
    let existing: k8s.V1Secret | undefined;
    try {
      existing = await this.core.readNamespacedSecret({ namespace: NAMESPACE, name });
    } catch {
      existing = undefined;
    }
    if (existing && this.done.get(name) === wanted) return;
    const fresh = issuedSecret(c, this.ca, new Date());
    if (existing) {
      // Like cert-manager: metadata others added (the group's owner reference) stays.
      fresh.metadata = { ...fresh.metadata, ownerReferences: existing.metadata?.ownerReferences, resourceVersion: existing.metadata?.resourceVersion };
      await this.core.replaceNamespacedSecret({ namespace: NAMESPACE, name, body: fresh });
    } else {
      await this.core.createNamespacedSecret({ namespace: NAMESPACE, body: fresh });
    }
    this.done.set(name, wanted);
    this.issued++;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.request?.abort();
    await this.busy;
  }
}
