// The garbage collector: deletes objects whose owners (metadata.ownerReferences)
// are all gone (background cascading), deletes the dependents of an owner in
// foreground deletion and releases the owner once no dependent with
// blockOwnerDeletion is left, and orphans dependents (removes their owner
// references) for an owner deleted with propagationPolicy=Orphan.
// It must never delete an object that still has a live owner.
import type { Api } from '../api/rest.ts';
import { ApiError } from '../api/errors.ts';
import type { KubeObject, OwnerReference } from '../store/object.ts';
import type { StoreEvent } from '../store/store.ts';
import { QueuedController } from './controller.ts';

const FOREGROUND = 'foregroundDeletion';
const ORPHAN = 'orphan';

interface Ref {
  resource: string;
  namespace: string | undefined;
  name: string;
}

const encode = (r: Ref) => JSON.stringify([r.resource, r.namespace ?? null, r.name]);
const decode = (s: string): Ref => {
  const [resource, namespace, name] = JSON.parse(s) as [string, string | null, string];
  return { resource, namespace: namespace ?? undefined, name };
};

export class GarbageCollector extends QueuedController {
  readonly #api: Api;
  /** dependents maps an owner uid to the objects referring to it. */
  readonly #dependents = new Map<string, Set<string>>();

  constructor(api: Api) {
    super('garbage collector');
    this.#api = api;
    for (const resource of api.store.resources()) {
      for (const obj of api.store.list(resource)) {
        this.#index(resource, obj, true);
        this.#consider(resource, obj);
      }
    }
    this.follow(api.store, (e) => this.#onEvent(e));
  }

  protected reconcile(key: string): void {
    this.#process(decode(key));
  }

  #onEvent(e: StoreEvent): void {
    if (e.previous) this.#index(e.resource, e.previous, false);
    if (e.type !== 'DELETED') this.#index(e.resource, e.object, true);
    if (e.type === 'DELETED') {
      // Its dependents may now be orphans; a foreground owner may be free to go.
      const uid = e.object.metadata.uid;
      if (uid) for (const dep of this.#dependents.get(uid) ?? []) this.queue.add(dep);
      for (const ref of e.object.metadata.ownerReferences ?? []) this.#enqueueOwner(ref);
      return;
    }
    this.#consider(e.resource, e.object);
  }

  #consider(resource: string, obj: KubeObject): void {
    const key = encode({ resource, namespace: obj.metadata.namespace, name: obj.metadata.name });
    const finalizers = obj.metadata.finalizers ?? [];
    if (obj.metadata.deletionTimestamp && (finalizers.includes(FOREGROUND) || finalizers.includes(ORPHAN))) this.queue.add(key);
    if ((obj.metadata.ownerReferences ?? []).length > 0) this.queue.add(key);
  }

  #enqueueOwner(ref: OwnerReference): void {
    const owner = this.#api.store.byUid(ref.uid);
    if (owner) this.queue.add(encode({ resource: owner.resource, namespace: owner.object.metadata.namespace, name: owner.object.metadata.name }));
  }

  #index(resource: string, obj: KubeObject, add: boolean): void {
    const key = encode({ resource, namespace: obj.metadata.namespace, name: obj.metadata.name });
    for (const ref of obj.metadata.ownerReferences ?? []) {
      let set = this.#dependents.get(ref.uid);
      if (add) {
        if (!set) this.#dependents.set(ref.uid, (set = new Set()));
        set.add(key);
      } else if (set) {
        set.delete(key);
        if (set.size === 0) this.#dependents.delete(ref.uid);
      }
    }
  }

  #process(ref: Ref): void {
    const api = this.#api;
    const obj = api.store.get(ref.resource, ref.namespace, ref.name);
    if (!obj) return;
    const type = api.kinds.byStoreKey(ref.resource);
    if (!type) return;
    const finalizers = obj.metadata.finalizers ?? [];
    if (obj.metadata.deletionTimestamp && finalizers.includes(ORPHAN)) this.#orphanDependents(obj);
    if (obj.metadata.deletionTimestamp && finalizers.includes(FOREGROUND)) this.#deleteDependentsFirst(obj);
    this.#collectIfOrphaned(ref, obj);
  }

  /** live tells whether an owner reference points at an existing object (same uid, kind and name). */
  #live(ref: OwnerReference): KubeObject | undefined {
    const found = this.#api.store.byUid(ref.uid);
    if (!found) return undefined;
    const o = found.object;
    return o.metadata.name === ref.name && o.kind === ref.kind ? o : undefined;
  }

  #collectIfOrphaned(ref: Ref, obj: KubeObject): void {
    const api = this.#api;
    const refs = obj.metadata.ownerReferences ?? [];
    if (refs.length === 0) return;
    const type = api.kinds.byStoreKey(ref.resource)!;
    const owners = refs.map((r) => ({ ref: r, owner: this.#live(r) }));
    const liveOwners = owners.filter((o) => o.owner);
    if (liveOwners.length === 0) {
      if (obj.metadata.deletionTimestamp) return;
      this.#delete(ref, 'Background');
      return;
    }
    const dangling = owners.filter((o) => !o.owner).map((o) => o.ref.uid);
    if (dangling.length > 0) {
      api.mutate(type, ref.namespace ?? '', ref.name, (o) => {
        o.metadata.ownerReferences = (o.metadata.ownerReferences ?? []).filter((r: OwnerReference) => !dangling.includes(r.uid));
      });
    }
  }

  #deleteDependentsFirst(owner: KubeObject): void {
    const uid = owner.metadata.uid!;
    let blocking = 0;
    for (const key of [...(this.#dependents.get(uid) ?? [])]) {
      const ref = decode(key);
      const dep = this.#api.store.get(ref.resource, ref.namespace, ref.name);
      if (!dep) continue;
      const toOwner = (dep.metadata.ownerReferences ?? []).find((r) => r.uid === uid);
      if (toOwner?.blockOwnerDeletion === true) blocking++;
      if (!dep.metadata.deletionTimestamp) this.#delete(ref, 'Background');
    }
    if (blocking === 0) this.#removeFinalizer(owner, FOREGROUND);
  }

  #orphanDependents(owner: KubeObject): void {
    const uid = owner.metadata.uid!;
    for (const key of [...(this.#dependents.get(uid) ?? [])]) {
      const ref = decode(key);
      const type = this.#api.kinds.byStoreKey(ref.resource);
      if (!type) continue;
      this.#api.mutate(type, ref.namespace ?? '', ref.name, (o) => {
        o.metadata.ownerReferences = (o.metadata.ownerReferences ?? []).filter((r: OwnerReference) => r.uid !== uid);
        if (o.metadata.ownerReferences.length === 0) delete o.metadata.ownerReferences;
      });
    }
    this.#removeFinalizer(owner, ORPHAN);
  }

  #removeFinalizer(obj: KubeObject, finalizer: string): void {
    const found = this.#api.store.byUid(obj.metadata.uid!);
    if (!found) return;
    const type = this.#api.kinds.byStoreKey(found.resource);
    if (!type) return;
    this.#api.mutate(type, obj.metadata.namespace ?? '', obj.metadata.name, (o) => {
      const f: string[] = o.metadata.finalizers ?? [];
      if (!f.includes(finalizer)) return false;
      o.metadata.finalizers = f.filter((x) => x !== finalizer);
    });
  }

  #delete(ref: Ref, policy: string): void {
    const type = this.#api.kinds.byStoreKey(ref.resource);
    if (!type) return;
    try {
      this.#api.delete(type, ref.namespace ?? '', ref.name, { propagationPolicy: policy });
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 404)) throw err;
    }
  }
}
