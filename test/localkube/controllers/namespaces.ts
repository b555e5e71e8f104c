// The namespace controller: creates the built-in namespaces and each
// namespace's "default" ServiceAccount, and finishes namespace deletion —
// deletes everything in a Terminating namespace, then removes the "kubernetes"
// spec finalizer once nothing is left, so the namespace goes away.
// It must never delete anything in a namespace that is not being deleted.
import type { Api } from '../api/rest.ts';
import { ApiError } from '../api/errors.ts';
import { storeKey } from '../kinds/types.ts';
import { WorkQueue } from './queue.ts';

export const BUILTIN_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export class NamespaceController {
  readonly #api: Api;
  readonly #queue: WorkQueue;
  readonly #unsubscribe: () => void;

  constructor(api: Api) {
    this.#api = api;
    this.#queue = new WorkQueue((name) => this.#reconcile(name), { name: 'namespace controller' });
    const namespaces = api.kinds.byKind('', 'Namespace')!;
    for (const name of BUILTIN_NAMESPACES) {
      if (!api.tryGet(namespaces, '', name)) api.create(namespaces, '', { metadata: { name } });
    }
    this.#unsubscribe = api.store.subscribe((e) => {
      if (e.resource === '/namespaces') this.#queue.add(e.object.metadata.name);
      else if (e.type === 'DELETED' && e.object.metadata.namespace) this.#queue.add(e.object.metadata.namespace);
    });
    for (const ns of api.store.list('/namespaces')) this.#queue.add(ns.metadata.name);
  }

  stop(): void {
    this.#unsubscribe();
    this.#queue.stop();
  }

  idle(): Promise<void> {
    return this.#queue.idle();
  }

  #reconcile(name: string): void {
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
      this.#queue.addAfter(name, 500);
      return;
    }
    api.mutate(namespaces, '', name, (n) => {
      if ((n.spec?.finalizers ?? []).length === 0) return false;
      n.spec = { ...n.spec, finalizers: [] };
    });
  }
}
