// The object store of the local control plane: every API object in memory, one
// global resourceVersion counter, and a bounded log of changes so a watch can
// resume from a resourceVersion (or learn it is too old: 410 Expired).
// It must never apply API semantics (defaults, validation, finalizers, RV
// preconditions): the api/ layer does that before calling it.
import type { KubeObject } from './object.ts';
import { deepFreeze } from './object.ts';

export type StoreEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** StoreEvent is one change, in resourceVersion order. */
export interface StoreEvent {
  readonly type: StoreEventType;
  /** resource is the store key of the object's type: "group/plural" ("/pods" for core). */
  readonly resource: string;
  readonly object: KubeObject;
  /** previous is the object before a MODIFIED or DELETED change. */
  readonly previous?: KubeObject;
  readonly rv: number;
}

export type StoreListener = (event: StoreEvent) => void;

/** objectKey is the key of an object inside its resource: "namespace/name" or "/name". */
export function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

export interface StoreOptions {
  /** eventLogLimit bounds how many changes a watch can replay (older ones answer 410). */
  eventLogLimit?: number;
}

export interface StoreSnapshot {
  resourceVersion: number;
  objects: { resource: string; object: KubeObject }[];
}

export class Store {
  #rv = 0;
  #compactedRv = 0;
  readonly #objects = new Map<string, Map<string, KubeObject>>();
  readonly #byUid = new Map<string, { resource: string; key: string }>();
  #log: StoreEvent[] = [];
  readonly #logLimit: number;
  readonly #listeners = new Set<StoreListener>();
  #queue: StoreEvent[] = [];
  #dispatching = false;

  constructor(options: StoreOptions = {}) {
    this.#logLimit = options.eventLogLimit ?? 20000;
  }

  /** resourceVersion is the newest resourceVersion handed out. */
  get resourceVersion(): number {
    return this.#rv;
  }

  /** compactedRevision is the newest resourceVersion whose change is no longer in the log. */
  get compactedRevision(): number {
    return this.#compactedRv;
  }

  get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.#objects.get(resource)?.get(objectKey(namespace, name));
  }

  /** list returns the objects of a resource (one namespace, or all when namespace is undefined), sorted by namespace/name. */
  list(resource: string, namespace?: string): KubeObject[] {
    const all = this.#objects.get(resource);
    if (!all) return [];
    const out: KubeObject[] = [];
    for (const [key, obj] of all) {
      if (namespace === undefined || key.startsWith(`${namespace}/`)) out.push(obj);
    }
    out.sort((a, b) => compareKeys(a, b));
    return out;
  }

  /** resources lists every resource key holding at least one object. */
  resources(): string[] {
    return [...this.#objects.keys()].filter((r) => (this.#objects.get(r)?.size ?? 0) > 0);
  }

  /** byUid finds an object anywhere by its metadata.uid. */
  byUid(uid: string): { resource: string; object: KubeObject } | undefined {
    const at = this.#byUid.get(uid);
    if (!at) return undefined;
    const object = this.#objects.get(at.resource)?.get(at.key);
    return object ? { resource: at.resource, object } : undefined;
  }

  /** create stores a new object under a fresh resourceVersion. The caller has checked it does not exist. */
  create(resource: string, obj: KubeObject): KubeObject {
    const key = objectKey(obj.metadata.namespace, obj.metadata.name);
    let byKey = this.#objects.get(resource);
    if (!byKey) {
      byKey = new Map();
      this.#objects.set(resource, byKey);
    }
    if (byKey.has(key)) throw new Error(`store: ${resource} ${key} already exists`);
    const rv = ++this.#rv;
    const stored = stamp(obj, rv);
    byKey.set(key, stored);
    if (stored.metadata.uid) this.#byUid.set(stored.metadata.uid, { resource, key });
    this.#emit({ type: 'ADDED', resource, object: stored, rv });
    return stored;
  }

  /** update replaces an existing object under a fresh resourceVersion. */
  update(resource: string, obj: KubeObject): KubeObject {
    const key = objectKey(obj.metadata.namespace, obj.metadata.name);
    const byKey = this.#objects.get(resource);
    const previous = byKey?.get(key);
    if (!byKey || !previous) throw new Error(`store: ${resource} ${key} does not exist`);
    const rv = ++this.#rv;
    const stored = stamp(obj, rv);
    byKey.set(key, stored);
    this.#emit({ type: 'MODIFIED', resource, object: stored, previous, rv });
    return stored;
  }

  /** remove deletes an object; the DELETED event carries the deletion's resourceVersion. */
  remove(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const key = objectKey(namespace, name);
    const byKey = this.#objects.get(resource);
    const previous = byKey?.get(key);
    if (!byKey || !previous) return undefined;
    byKey.delete(key);
    if (previous.metadata.uid) this.#byUid.delete(previous.metadata.uid);
    const rv = ++this.#rv;
    const gone = stamp(previous, rv);
    this.#emit({ type: 'DELETED', resource, object: gone, previous, rv });
    return gone;
  }

  /**
   * eventsSince returns every logged change after rv, or 'expired' when some of
   * them were already dropped from the log (the client must relist).
   */
  eventsSince(rv: number): StoreEvent[] | 'expired' {
    if (rv < this.#compactedRv) return 'expired';
    // The log is sorted by rv: binary search for the first event after rv.
    let lo = 0;
    let hi = this.#log.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#log[mid].rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    return this.#log.slice(lo);
  }

  /** compact drops every logged change up to rv (default: all of them), like etcd compaction. */
  compact(rv: number = this.#rv): void {
    const upTo = Math.min(rv, this.#rv);
    this.#log = this.#log.filter((e) => e.rv > upTo);
    this.#compactedRv = Math.max(this.#compactedRv, upTo);
  }

  /** subscribe registers a listener for every later change; events reach listeners in resourceVersion order. */
  subscribe(listener: StoreListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  snapshot(): StoreSnapshot {
    const objects: { resource: string; object: KubeObject }[] = [];
    for (const [resource, byKey] of this.#objects) {
      for (const object of byKey.values()) objects.push({ resource, object });
    }
    return { resourceVersion: this.#rv, objects };
  }

  /**
   * restore loads a snapshot into an empty store. Changes before the snapshot are
   * unknown, so watches from an older resourceVersion answer 410 and relist.
   */
  restore(snapshot: StoreSnapshot): void {
    if (this.#rv !== 0) throw new Error('store: restore into a store that is not empty');
    for (const { resource, object } of snapshot.objects) {
      let byKey = this.#objects.get(resource);
      if (!byKey) {
        byKey = new Map();
        this.#objects.set(resource, byKey);
      }
      const key = objectKey(object.metadata.namespace, object.metadata.name);
      byKey.set(key, deepFreeze(structuredClone(object)));
      if (object.metadata.uid) this.#byUid.set(object.metadata.uid, { resource, key });
    }
    this.#rv = snapshot.resourceVersion;
    this.#compactedRv = snapshot.resourceVersion;
  }

  #emit(event: StoreEvent): void {
    this.#log.push(event);
    if (this.#log.length > this.#logLimit) {
      const dropped = this.#log.splice(0, this.#log.length - this.#logLimit);
      this.#compactedRv = dropped[dropped.length - 1].rv;
    }
    // Listeners may write to the store; queue so every listener sees events in order.
    this.#queue.push(event);
    if (this.#dispatching) return;
    this.#dispatching = true;
    try {
      while (this.#queue.length > 0) {
        const next = this.#queue.shift()!;
        for (const listener of [...this.#listeners]) {
          try {
            listener(next);
          } catch (err) {
            // A failing listener must not stop the others or the writer.
            process.emitWarning(`localkube store listener failed: ${(err as Error).stack ?? err}`);
          }
        }
      }
    } finally {
      this.#dispatching = false;
    }
  }
}

function stamp(obj: KubeObject, rv: number): KubeObject {
  const copy = structuredClone(obj);
  copy.metadata.resourceVersion = String(rv);
  return deepFreeze(copy);
}

function compareKeys(a: KubeObject, b: KubeObject): number {
  const an = a.metadata.namespace ?? '';
  const bn = b.metadata.namespace ?? '';
  if (an !== bn) return an < bn ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}
