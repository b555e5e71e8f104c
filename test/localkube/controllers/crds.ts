// The CRD controller: when a CRD is created or changed it checks the names,
// registers the custom resource type (discovery, OpenAPI, REST) and reports the
// NamesAccepted and Established conditions; when a CRD is deleted it deletes
// every custom resource of it, then lets the CRD go and unregisters the type.
// It must never validate custom resources: the type built from the CRD does.
import type { Api } from '../api/rest.ts';
import { ApiError } from '../api/errors.ts';
import { acceptedNames, CLEANUP_FINALIZER, crdType, customResourceType } from '../kinds/crd.ts';
import { setCondition } from '../api/conditions.ts';
import { storeKey } from '../kinds/types.ts';
import type { JsonObject, KubeObject } from '../store/object.ts';
import { nowTimestamp } from '../store/object.ts';
import { QueuedController } from './controller.ts';

const CRD_KEY = storeKey(crdType);

export class CrdController extends QueuedController {
  readonly #api: Api;
  /** registered maps CRD name → the store key of the type it registered. */
  readonly #registered = new Map<string, string>();

  constructor(api: Api) {
    super('crd controller');
    this.#api = api;
    this.follow(api.store, (e) => {
      if (e.resource === CRD_KEY) this.queue.add(e.object.metadata.name);
      else if (e.type === 'DELETED') {
        // A custom resource went away: a deleting CRD may now be free to go.
        for (const [crd, key] of this.#registered) if (key === e.resource) this.queue.add(crd);
      }
    });
    // Register CRDs already in the store (restart from a state file) right away.
    for (const crd of api.store.list(CRD_KEY)) this.#reconcileNow(crd.metadata.name);
  }

  protected reconcile(name: string): void {
    this.#reconcileNow(name);
  }

  #reconcileNow(name: string): void {
    const api = this.#api;
    const crd = api.store.get(CRD_KEY, undefined, name);
    if (!crd) {
      const key = this.#registered.get(name);
      if (key) {
        this.#registered.delete(name);
        api.kinds.unregister(key);
      }
      return;
    }
    if (crd.metadata.deletionTimestamp) {
      this.#cleanUp(crd);
      return;
    }
    const key = `${crd.spec.group}/${crd.spec.names.plural}`;
    const conflict = this.#nameConflict(crd, key);
    const now = nowTimestamp(api.clock);
    if (conflict) {
      this.#writeStatus(crd, (status) => {
        setCondition(status.conditions, 'NamesAccepted', 'False', 'NameConflict', conflict, now);
        setCondition(status.conditions, 'Established', 'False', 'NotAccepted', 'not all names are accepted', now);
      });
      return;
    }
    const previous = this.#registered.get(name);
    if (previous && previous !== key) api.kinds.unregister(previous);
    api.kinds.register(customResourceType(crd));
    this.#registered.set(name, key);
    this.#writeStatus(crd, (status) => {
      setCondition(status.conditions, 'NamesAccepted', 'True', 'NoConflicts', 'no conflicts found', now);
      setCondition(status.conditions, 'Established', 'True', 'InitialNamesAccepted', 'the initial names have been accepted', now);
      status.acceptedNames = acceptedNames(crd);
      const storage = (crd.spec.versions as JsonObject[]).find((v) => v.storage)?.name;
      const stored: string[] = status.storedVersions ?? [];
      if (storage && !stored.includes(storage)) stored.push(storage);
      status.storedVersions = stored;
    });
  }

  #nameConflict(crd: KubeObject, key: string): string | undefined {
    for (const t of this.#api.kinds.all()) {
      const owner = [...this.#registered.entries()].find(([, k]) => k === `${t.group}/${t.plural}`)?.[0];
      if (owner === crd.metadata.name) continue;
      if (`${t.group}/${t.plural}` === key) return `"${crd.spec.names.plural}" is already in use`;
      if (t.group === crd.spec.group && t.kind === crd.spec.names.kind) return `"${crd.spec.names.kind}" is already in use`;
    }
    return undefined;
  }

  #writeStatus(crd: KubeObject, change: (status: JsonObject) => void): void {
    this.#api.mutate(crdType, '', crd.metadata.name, (c) => {
      c.status ??= {};
      c.status.conditions ??= [];
      const before = JSON.stringify(c.status);
      change(c.status);
      return JSON.stringify(c.status) !== before;
    }, 'status');
  }

  #cleanUp(crd: KubeObject): void {
    const api = this.#api;
    const key = this.#registered.get(crd.metadata.name);
    const type = key ? api.kinds.byStoreKey(key) : undefined;
    if (type) {
      const remaining = api.store.list(key!);
      for (const obj of remaining) {
        if (obj.metadata.deletionTimestamp) continue;
        try {
          api.delete(type, obj.metadata.namespace ?? '', obj.metadata.name, {});
        } catch (err) {
          if (!(err instanceof ApiError && err.code === 404)) throw err;
        }
      }
      if (api.store.list(key!).length > 0) return; // finalizers on custom resources hold the CRD
    }
    api.mutate(crdType, '', crd.metadata.name, (c) => {
      const finalizers: string[] = c.metadata.finalizers ?? [];
      if (!finalizers.includes(CLEANUP_FINALIZER)) return false;
      c.metadata.finalizers = finalizers.filter((f) => f !== CLEANUP_FINALIZER);
    });
  }
}
