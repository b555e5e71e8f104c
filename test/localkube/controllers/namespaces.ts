// The namespace controller: creates the built-in namespaces, each namespace's
// "default" ServiceAccount and kube-root-ca.crt ConfigMap (the CA in-cluster
// clients trust, as the root CA publisher does), and finishes namespace deletion —
// deletes everything in a Terminating namespace, then removes the "kubernetes"
// spec finalizer once nothing is left, so the namespace goes away.
// It must never delete anything in a namespace that is not being deleted.
import type { Api } from '../api/rest.ts';
import { ApiError } from '../api/errors.ts';
import { storeKey } from '../kinds/types.ts';
import { QueuedController } from './controller.ts';

export const BUILTIN_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
const ROOT_CA_DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';

export class NamespaceController extends QueuedController {
  readonly #api: Api;

  readonly #rootCA: string | undefined;

  /** rootCA is the PEM bundle published in every namespace's kube-root-ca.crt ConfigMap. */
  constructor(api: Api, rootCA?: string) {
    super('namespace controller');
    this.#api = api;
    this.#rootCA = rootCA;
    const namespaces = api.kinds.byKind('', 'Namespace')!;
    for (const name of BUILTIN_NAMESPACES) {
      if (!api.tryGet(namespaces, '', name)) api.create(namespaces, '', { metadata: { name } });
    }
    this.follow(api.store, (e) => {
      if (e.resource === '/namespaces') this.queue.add(e.object.metadata.name);
      else if (e.resource === '/configmaps' && e.object.metadata.name === ROOT_CA_CONFIGMAP && e.object.metadata.namespace) this.queue.add(e.object.metadata.namespace);
      else if (e.type === 'DELETED' && e.object.metadata.namespace) this.queue.add(e.object.metadata.namespace);
    });
    for (const ns of api.store.list('/namespaces')) this.queue.add(ns.metadata.name);
  }

  #publishRootCA(namespace: string, ca: string): void {
    const api = this.#api;
    const cms = api.kinds.byKind('', 'ConfigMap')!;
    const data = { 'ca.crt': ca };
    try {
      const cm = api.tryGet(cms, namespace, ROOT_CA_CONFIGMAP);
      if (!cm) api.create(cms, namespace, { metadata: { name: ROOT_CA_CONFIGMAP, annotations: { 'kubernetes.io/description': ROOT_CA_DESCRIPTION } }, data });
      else if (cm.data?.['ca.crt'] !== ca) api.mutate(cms, namespace, ROOT_CA_CONFIGMAP, (c) => {
        c.data = data;
      });
    } catch (err) {
      if (!(err instanceof ApiError && (err.code === 409 || err.code === 403 || err.code === 404))) throw err;
    }
  }

  protected reconcile(name: string): void {
    const api = this.#api;
    const namespaces = api.kinds.byKind('', 'Namespace')!;
    const ns = api.tryGet(namespaces, '', name);
    if (!ns) return;
    if (!ns.metadata.deletionTimestamp) {
      const sa = api.kinds.byKind('', 'ServiceAccount')!;
      if (!api.tryGet(sa, name, 'default')) {
        try {
          api.create(sa, name, { metadata: { name: 'default' } });
        } catch (err) {
          if (!(err instanceof ApiError && (err.code === 409 || err.code === 403 || err.code === 404))) throw err;
        }
      }
      if (this.#rootCA) this.#publishRootCA(name, this.#rootCA);
      return;
    }
    let remaining = 0;
    for (const type of api.kinds.all()) {
      if (!type.namespaced) continue;
      for (const obj of api.store.list(storeKey(type), name)) {
        remaining++;
        if (obj.metadata.deletionTimestamp) continue;
        try {
          api.delete(type, name, obj.metadata.name, {});
        } catch (err) {
          if (!(err instanceof ApiError && err.code === 404)) throw err;
        }
      }
    }
    if (remaining > 0) {
      // Finalizers and graceful pod deletion take time: look again.
      this.queue.addAfter(name, 500);
      return;
    }
    api.mutate(namespaces, '', name, (n) => {
      if ((n.spec?.finalizers ?? []).length === 0) return false;
      n.spec = { ...n.spec, finalizers: [] };
    });
  }
}
