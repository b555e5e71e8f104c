// The REST semantics of the Kubernetes API over the store: create, get, list,
// update, patch and delete with resourceVersion preconditions (409), generation,
// status subresource rules, defaults and validation (422), finalizers,
// deletionTimestamp and graceful deletion. The HTTP layer and the in-process
// controllers (kubelet, garbage collector, ...) both call it, so every write
// follows the same rules.
// It must never speak HTTP or know about watches: those read the store's events.
import { randomUUID } from 'node:crypto';
import type { Store } from '../store/store.ts';
import type { KubeObject, JsonObject } from '../store/object.ts';
import { deepEqual, isPlainObject, mutable, nowTimestamp } from '../store/object.ts';
import type { Kinds } from '../kinds/registry.ts';
import type { ResourceType, WriteContext } from '../kinds/types.ts';
import { groupVersion, qualifiedKind, storeKey } from '../kinds/types.ts';
import {
  ApiError,
  alreadyExists,
  badRequest,
  conflict,
  fieldForbidden,
  fieldInvalid,
  forbidden,
  invalid,
  MODIFIED_CONFLICT,
  notFound,
  unsupportedMediaType,
} from './errors.ts';
import type { FieldError } from './errors.ts';
import { validateObjectMeta } from './meta-validation.ts';
import { dropUnknownFields } from './known-fields.ts';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.ts';
import type { FieldRequirement, LabelSelector } from './selectors.ts';
import { applyConfiguration, applyJsonPatch, applyMergePatch, applyStrategicMergePatch } from '../patch/index.ts';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface WriteOptions {
  /** version is the API version the client speaks (defaults to the type's storage version). */
  version?: string;
  dryRun?: boolean;
  fieldValidation?: FieldValidation;
  fieldManager?: string;
  force?: boolean;
  /** warnings receives Warning headers for the response. */
  warnings?: string[];
}

export interface UpdateOptions extends WriteOptions {
  /** subresource is "" (the object) or "status". */
  subresource?: string;
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: string;
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

/** WriteResult says what a write did: created is true for a 201. */
export interface WriteResult {
  object: KubeObject;
  created: boolean;
}

export interface DeleteResult {
  object: KubeObject;
  /** deleted is true when the object is gone now (200); false while finalizers or a grace period hold it (202). */
  deleted: boolean;
}

const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

/** Api applies the Kubernetes API's write and read rules to the store. */
export class Api {
  readonly store: Store;
  readonly kinds: Kinds;
  readonly clock: () => number;

  constructor(store: Store, kinds: Kinds, clock: () => number = Date.now) {
    this.store = store;
    this.kinds = kinds;
    this.clock = clock;
  }

  /** get returns the stored object or throws 404. */
  get(type: ResourceType, namespace: string, name: string): KubeObject {
    const obj = this.store.get(storeKey(type), scopeNamespace(type, namespace), name);
    if (!obj) throw notFound(type.plural, type.group, name);
    return obj;
  }

  /** tryGet returns the stored object or undefined. */
  tryGet(type: ResourceType, namespace: string, name: string): KubeObject | undefined {
    return this.store.get(storeKey(type), scopeNamespace(type, namespace), name);
  }

  /** list returns matching objects (namespace "" lists all namespaces) with the list's resourceVersion. */
  list(type: ResourceType, namespace: string, options: ListOptions = {}): ListResult {
    const labels = parseLabelSelector(options.labelSelector ?? '');
    const fields = this.#parseFields(type, options.fieldSelector ?? '');
    const all = this.store
      .list(storeKey(type), type.namespaced && namespace ? namespace : undefined)
      .filter((o) => this.matches(type, o, labels, fields));
    const rv = String(this.store.resourceVersion);
    let start = 0;
    if (options.continue) {
      const token = decodeContinue(options.continue);
      start = all.findIndex((o) => keyOf(o) > token.after);
      if (start < 0) start = all.length;
    }
    const limit = options.limit && options.limit > 0 ? options.limit : Infinity;
    const items = all.slice(start, start + limit);
    const result: ListResult = { items, resourceVersion: rv };
    if (start + items.length < all.length) {
      result.continue = encodeContinue(keyOf(items[items.length - 1]));
      result.remainingItemCount = all.length - start - items.length;
    }
    return result;
  }

  /** selectorsFor parses list/watch selectors once (400 on bad input or unsupported field labels). */
  selectorsFor(type: ResourceType, labelSelector = '', fieldSelector = ''): { labels: LabelSelector; fields: FieldRequirement[] } {
    return { labels: parseLabelSelector(labelSelector), fields: this.#parseFields(type, fieldSelector) };
  }

  /** matches applies parsed selectors to one object. */
  matches(type: ResourceType, obj: KubeObject, labels: LabelSelector, fields: FieldRequirement[]): boolean {
    return matchesLabels(labels, obj.metadata.labels) && matchesFields(fields, (f) => fieldValue(type, obj, f));
  }

  /** create stores a new object (201), honouring generateName and dryRun. */
  create(type: ResourceType, namespace: string, body: unknown, options: WriteOptions = {}): KubeObject {
    const ctx = this.#context(type, options, '');
    const obj = this.#checkBody(type, namespace, body, ctx.version);
    dropUnknownFields(type, obj, ctx);
    const ns = scopeNamespace(type, namespace);
    this.#checkNamespaceWritable(type, ns);
    if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = this.#generateName(type, ns, obj.metadata.generateName);
    const now = nowTimestamp(this.clock);
    const meta = obj.metadata;
    if (ns !== undefined) meta.namespace = ns;
    else delete meta.namespace;
    meta.uid = randomUUID();
    meta.creationTimestamp = now;
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.selfLink;
    if (type.generation) meta.generation = 1;
    else delete meta.generation;
    if (!isApplyManaged(meta)) delete meta.managedFields;
    if (type.statusSubresource && type.custom) delete obj.status;
    obj.apiVersion = groupVersion(type.group, type.version);
    obj.kind = type.kind;
    type.rules.prepareCreate?.(obj, ctx);
    this.#validate(type, obj, undefined, ctx);
    if (this.store.get(storeKey(type), ns, meta.name)) throw alreadyExists(type.plural, type.group, meta.name);
    if (options.dryRun) return obj;
    return this.store.create(storeKey(type), obj);
  }

  /** update replaces an object (PUT); subresource "status" writes only .status. */
  update(type: ResourceType, namespace: string, name: string, body: unknown, options: UpdateOptions = {}): WriteResult {
    const subresource = options.subresource ?? '';
    const ctx = this.#context(type, options, subresource);
    const next = this.#checkBody(type, namespace, body, ctx.version);
    if (next.metadata.name && next.metadata.name !== name) {
      throw badRequest(`the name of the object (${next.metadata.name}) does not match the name on the URL (${name})`);
    }
    next.metadata.name = name;
    const current = this.tryGet(type, namespace, name);
    if (!current) {
      if (type.allowCreateOnUpdate && subresource === '') return { object: this.create(type, namespace, next, options), created: true };
      throw notFound(type.plural, type.group, name);
    }
    const rv = next.metadata.resourceVersion;
    if (rv === undefined || rv === '') {
      if (!type.allowUnconditionalUpdate) {
        throw invalid(qualifiedKind(type), type.kind, type.group, name, [
          fieldInvalid('metadata.resourceVersion', '0x0', 'must be specified for an update'),
        ]);
      }
    } else if (rv !== current.metadata.resourceVersion) {
      throw conflict(type.plural, type.group, name, MODIFIED_CONFLICT);
    }
    return { object: this.#commit(type, current, next, ctx, options.dryRun ?? false), created: false };
  }

  /** patch applies a JSON, merge, strategic-merge or apply patch; apply creates a missing object (201). */
  patch(
    type: ResourceType,
    namespace: string,
    name: string,
    patchType: PatchType,
    patch: unknown,
    options: UpdateOptions = {},
  ): WriteResult {
    const subresource = options.subresource ?? '';
    const ctx = this.#context(type, options, subresource);
    if (patchType === 'strategic' && type.custom) throw unsupportedMediaType();
    if (patchType === 'apply' && !options.fieldManager) {
      throw invalid('PatchOptions.meta.k8s.io', 'PatchOptions', 'meta.k8s.io', '', [
        { type: 'FieldValueRequired', field: 'fieldManager', message: 'Required value: is required for apply patch' },
      ]);
    }
    const current = this.tryGet(type, namespace, name);
    const version = ctx.version;
    const apiVersion = groupVersion(type.group, version);
    if (!current) {
      if (patchType !== 'apply' || subresource !== '') throw notFound(type.plural, type.group, name);
      const config = this.#checkBody(type, namespace, patch, version);
      if (config.metadata.name !== name) {
        throw badRequest(`the name of the object (${config.metadata.name ?? ''}) does not match the name on the URL (${name})`);
      }
      const created = applyConfiguration(undefined, config, options.fieldManager!, type.patchMeta, nowTimestamp(this.clock));
      return { object: this.create(type, namespace, created, options), created: true };
    }
    const base = { ...mutable(current), apiVersion, kind: type.kind };
    let patched: unknown;
    switch (patchType) {
      case 'json':
        patched = applyJsonPatch(base, patch);
        break;
      case 'merge':
        patched = applyMergePatch(base, patch);
        break;
      case 'strategic':
        patched = applyStrategicMergePatch(base, patch, type.patchMeta);
        break;
      case 'apply': {
        const config = this.#checkBody(type, namespace, patch, version);
        patched = applyConfiguration(base, config, options.fieldManager!, type.patchMeta, nowTimestamp(this.clock));
        break;
      }
    }
    const next = this.#checkBody(type, namespace, patched, version);
    if (next.metadata.name !== name) throw badRequest('metadata.name cannot be changed by a patch');
    if (next.metadata.resourceVersion !== undefined && next.metadata.resourceVersion !== current.metadata.resourceVersion) {
      throw conflict(type.plural, type.group, name, MODIFIED_CONFLICT);
    }
    return { object: this.#commit(type, current, next, ctx, options.dryRun ?? false), created: false };
  }

  /** delete removes an object, or starts its deletion (finalizers, pod grace period, namespace contents). */
  delete(type: ResourceType, namespace: string, name: string, options: DeleteOptions = {}): DeleteResult {
    const current = this.get(type, namespace, name);
    const pre = options.preconditions;
    if (pre?.uid && pre.uid !== current.metadata.uid) {
      throw conflict(type.plural, type.group, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) {
      throw conflict(type.plural, type.group, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`);
    }
    let policy = options.propagationPolicy;
    if (policy === undefined && options.orphanDependents !== undefined) policy = options.orphanDependents ? 'Orphan' : 'Background';
    if (policy !== undefined && !['Orphan', 'Background', 'Foreground'].includes(policy)) {
      throw invalid('DeleteOptions.meta.k8s.io', 'DeleteOptions', 'meta.k8s.io', '', [
        { type: 'FieldValueNotSupported', field: 'propagationPolicy', message: `Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"` },
      ]);
    }
    if (options.gracePeriodSeconds !== undefined && (!Number.isInteger(options.gracePeriodSeconds) || options.gracePeriodSeconds < 0)) {
      throw badRequest(`gracePeriodSeconds must be a non-negative integer, got ${options.gracePeriodSeconds}`);
    }
    const grace = type.rules.gracePeriodSeconds?.(current, options.gracePeriodSeconds) ?? 0;
    const next = mutable(current);
    const finalizers = [...(next.metadata.finalizers ?? [])];
    const addFinalizer = (f: string) => {
      if (!finalizers.includes(f)) finalizers.push(f);
    };
    if (policy === 'Orphan') addFinalizer('orphan');
    if (policy === 'Foreground') addFinalizer('foregroundDeletion');
    if (finalizers.length > 0) next.metadata.finalizers = finalizers;
    const key = storeKey(type);
    const ns = scopeNamespace(type, namespace);

    if (current.metadata.deletionTimestamp) {
      const currentGrace = current.metadata.deletionGracePeriodSeconds ?? 0;
      const shorter = options.gracePeriodSeconds !== undefined && grace < currentGrace;
      const newFinalizers = finalizers.length !== (current.metadata.finalizers ?? []).length;
      if (!shorter && !newFinalizers) return { object: current, deleted: false };
      if (shorter) {
        next.metadata.deletionGracePeriodSeconds = grace;
        next.metadata.deletionTimestamp = nowTimestamp(() => this.clock() + grace * 1000);
      }
      if (options.dryRun) return { object: next, deleted: false };
      if (this.#removable(type, next)) return { object: this.#remove(key, ns, name), deleted: true };
      return { object: this.store.update(key, next), deleted: false };
    }

    if (finalizers.length === 0 && grace === 0 && !type.rules.prepareDelete) {
      if (options.dryRun) return { object: current, deleted: true };
      return { object: this.#remove(key, ns, name), deleted: true };
    }
    next.metadata.deletionTimestamp = nowTimestamp(() => this.clock() + grace * 1000);
    next.metadata.deletionGracePeriodSeconds = grace;
    type.rules.prepareDelete?.(next);
    if (options.dryRun) return { object: next, deleted: false };
    if (this.#removable(type, next)) return { object: this.#remove(key, ns, name), deleted: true };
    return { object: this.store.update(key, next), deleted: false };
  }

  /** deleteCollection deletes every object matching the selectors, one by one. */
  deleteCollection(type: ResourceType, namespace: string, list: ListOptions, options: DeleteOptions = {}): KubeObject[] {
    const out: KubeObject[] = [];
    for (const obj of this.list(type, namespace, { labelSelector: list.labelSelector, fieldSelector: list.fieldSelector }).items) {
      try {
        out.push(this.delete(type, obj.metadata.namespace ?? '', obj.metadata.name, options).object);
      } catch (err) {
        if (!(err instanceof ApiError && err.code === 404)) throw err;
      }
    }
    return out;
  }

  /**
   * mutate is the controllers' read-modify-write: it calls change on a writable
   * copy and commits it (status writes with subresource "status"). change may
   * return false to skip the write. Returns the stored object, or undefined when
   * the object does not exist.
   */
  mutate(type: ResourceType, namespace: string, name: string, change: (obj: KubeObject) => boolean | void, subresource = ''): KubeObject | undefined {
    const current = this.tryGet(type, namespace, name);
    if (!current) return undefined;
    const copy = mutable(current);
    if (change(copy) === false) return current;
    copy.metadata.resourceVersion = current.metadata.resourceVersion;
    return this.update(type, namespace, name, copy, { subresource }).object;
  }

  #commit(type: ResourceType, current: KubeObject, next: KubeObject, ctx: WriteContext, dryRun: boolean): KubeObject {
    const sub = ctx.subresource;
    dropUnknownFields(type, next, ctx);
    let candidate: KubeObject;
    if (sub === 'status') {
      candidate = mutable(current);
      if (next.status === undefined) delete candidate.status;
      else candidate.status = next.status;
    } else {
      candidate = next;
      if (type.statusSubresource) {
        if (current.status === undefined) delete candidate.status;
        else candidate.status = mutable(current.status);
      }
      const meta = candidate.metadata;
      const old = current.metadata;
      meta.uid = old.uid;
      meta.creationTimestamp = old.creationTimestamp;
      meta.namespace = old.namespace;
      if (meta.namespace === undefined) delete meta.namespace;
      if (old.deletionTimestamp) {
        meta.deletionTimestamp = old.deletionTimestamp;
        meta.deletionGracePeriodSeconds = old.deletionGracePeriodSeconds;
      } else {
        delete meta.deletionTimestamp;
        delete meta.deletionGracePeriodSeconds;
      }
      if (old.generation !== undefined) meta.generation = old.generation;
      else delete meta.generation;
      if (!isApplyManaged(meta)) {
        if (old.managedFields) meta.managedFields = mutable(old.managedFields);
        else delete meta.managedFields;
      }
      delete meta.selfLink;
    }
    candidate.apiVersion = groupVersion(type.group, type.version);
    candidate.kind = type.kind;
    candidate.metadata.resourceVersion = current.metadata.resourceVersion;

    if (current.metadata.deletionTimestamp) {
      const before = new Set(current.metadata.finalizers ?? []);
      const added = (candidate.metadata.finalizers ?? []).filter((f: string) => !before.has(f));
      if (added.length > 0) {
        throw invalid(qualifiedKind(type), type.kind, type.group, current.metadata.name, [
          fieldForbidden('metadata.finalizers', `no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((f: string) => JSON.stringify(f)).join(', ')}}`),
        ]);
      }
    }
    type.rules.prepareUpdate?.(candidate, current, ctx);
    this.#validate(type, candidate, current, ctx);
    if (type.generation && specChanged(type, current, candidate)) {
      candidate.metadata.generation = (current.metadata.generation ?? 0) + 1;
    }
    if (candidate.metadata.finalizers && candidate.metadata.finalizers.length === 0) delete candidate.metadata.finalizers;
    if (deepEqual(candidate, current)) return current;
    if (dryRun) return candidate;
    const key = storeKey(type);
    const stored = this.store.update(key, candidate);
    if (this.#removable(type, stored)) this.#remove(key, stored.metadata.namespace, stored.metadata.name);
    return stored;
  }

  #removable(type: ResourceType, obj: KubeObject): boolean {
    const meta = obj.metadata;
    return (
      meta.deletionTimestamp !== undefined &&
      (meta.finalizers ?? []).length === 0 &&
      (meta.deletionGracePeriodSeconds ?? 0) === 0 &&
      !(type.rules.blocksRemoval?.(obj) ?? false)
    );
  }

  #remove(key: string, namespace: string | undefined, name: string): KubeObject {
    const gone = this.store.remove(key, namespace, name);
    if (!gone) throw new Error(`localkube: ${key} ${namespace}/${name} vanished during delete`);
    return gone;
  }

  #context(type: ResourceType, options: WriteOptions, subresource: string): WriteContext {
    const version = options.version ?? type.version;
    if (!type.versions.includes(version)) throw badRequest(`version ${version} of ${type.plural} is not served`);
    const fv = options.fieldValidation ?? 'Warn';
    if (!['Strict', 'Warn', 'Ignore'].includes(fv)) {
      throw badRequest(`fieldValidation must be one of Strict, Warn or Ignore, not "${fv}"`);
    }
    return { subresource, version, fieldValidation: fv, warnings: options.warnings ?? [] };
  }

  /** checkBody turns a request body into a writable object of this type, or throws 400. */
  #checkBody(type: ResourceType, namespace: string, body: unknown, version: string): KubeObject {
    if (!isPlainObject(body)) throw badRequest(`the body of the request must be a JSON object (a ${type.kind})`);
    const obj = mutable(body) as KubeObject;
    const expected = groupVersion(type.group, version);
    if (obj.apiVersion !== undefined && obj.apiVersion !== expected) {
      throw badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${expected})`);
    }
    if (obj.kind !== undefined && obj.kind !== type.kind) {
      throw badRequest(`the kind in the data (${obj.kind}) does not match the expected kind (${type.kind})`);
    }
    if (obj.metadata === undefined || obj.metadata === null) obj.metadata = { name: '' };
    if (!isPlainObject(obj.metadata)) throw badRequest('metadata must be an object');
    if (type.namespaced && obj.metadata.namespace && namespace && obj.metadata.namespace !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    return obj;
  }

  #validate(type: ResourceType, obj: KubeObject, old: KubeObject | undefined, ctx: WriteContext): void {
    const errors: FieldError[] = [...validateObjectMeta(obj.metadata, type.nameRule)];
    if (type.namespaced && !obj.metadata.namespace) errors.push({ type: 'FieldValueRequired', field: 'metadata.namespace', message: 'Required value' });
    errors.push(...(type.rules.validate?.(obj, old, ctx) ?? []));
    if (errors.length > 0) throw invalid(qualifiedKind(type), type.kind, type.group, obj.metadata.name || obj.metadata.generateName || '', errors);
  }

  #checkNamespaceWritable(type: ResourceType, ns: string | undefined): void {
    if (!type.namespaced || ns === undefined) return;
    if (!ns) throw badRequest(`${type.plural} is namespaced: the request must name a namespace`);
    const nsObj = this.store.get('/namespaces', undefined, ns);
    if (!nsObj) throw notFound('namespaces', '', ns);
    if (nsObj.metadata.deletionTimestamp) {
      throw forbidden(type.plural, type.group, '', `unable to create new content in namespace ${ns} because it is being terminated`);
    }
  }

  #generateName(type: ResourceType, ns: string | undefined, prefix: string): string {
    for (let attempt = 0; attempt < 16; attempt++) {
      let suffix = '';
      for (let i = 0; i < 5; i++) suffix += NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)];
      const name = `${prefix}${suffix}`;
      if (!this.store.get(storeKey(type), ns, name)) return name;
    }
    throw new ApiError(500, 'AlreadyExists', `could not generate a unique name with prefix ${prefix}`);
  }

  #parseFields(type: ResourceType, text: string): FieldRequirement[] {
    const reqs = parseFieldSelector(text);
    for (const r of reqs) {
      if (r.field !== 'metadata.name' && r.field !== 'metadata.namespace' && !(r.field in type.fieldSelectors)) {
        throw badRequest(`field label not supported: ${r.field}`);
      }
    }
    return reqs;
  }
}

/** fieldValue reads a field-selector label of an object. */
export function fieldValue(type: ResourceType, obj: KubeObject, field: string): string {
  if (field === 'metadata.name') return obj.metadata.name;
  if (field === 'metadata.namespace') return obj.metadata.namespace ?? '';
  return type.fieldSelectors[field]?.(obj) ?? '';
}

/** scopeNamespace is the store namespace of an object: undefined for cluster-scoped types. */
export function scopeNamespace(type: ResourceType, namespace: string): string | undefined {
  return type.namespaced ? namespace : undefined;
}

function specChanged(type: ResourceType, a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject): JsonObject => {
    const { metadata: _m, status, apiVersion: _a, kind: _k, ...rest } = o;
    return type.statusSubresource ? rest : { ...rest, status };
  };
  return !deepEqual(strip(a), strip(b));
}

function isApplyManaged(meta: JsonObject): boolean {
  return Array.isArray(meta.managedFields) && meta.managedFields.some((m: JsonObject) => m?.operation === 'Apply' && m.fieldsV1);
}

function keyOf(o: KubeObject): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

function encodeContinue(after: string): string {
  return Buffer.from(JSON.stringify({ v: 1, after })).toString('base64url');
}

function decodeContinue(token: string): { after: string } {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (parsed?.v === 1 && typeof parsed.after === 'string') return { after: parsed.after };
  } catch {
    // fall through
  }
  throw badRequest(`continue key is not valid: ${token}`);
}
