// What the control plane knows about one resource type (built-in or defined by a
// CRD): names, scope, versions, subresources, how to print it as a Table, and the
// kind-specific rules (defaults, validation, field selectors).
// It must never hold objects: the store does.
import type { FieldError } from '../api/errors.ts';
import type { NameRule } from '../api/meta-validation.ts';
import type { PatchMeta } from '../patch/index.ts';
import type { JsonObject, KubeObject } from '../store/object.ts';

/** ColumnDefinition is one column of a meta.k8s.io/v1 Table. */
export interface ColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

/** Printer turns objects of a kind into Table rows, as `kubectl get` shows them. */
export interface Printer {
  columns: ColumnDefinition[];
  cells(obj: KubeObject, now: number): unknown[];
}

/** ScaleSpec maps the autoscaling/v1 Scale subresource onto an object's fields (JSON paths like ".spec.replicas"). */
export interface ScaleSpec {
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

/** WriteContext tells kind rules who writes and how. */
export interface WriteContext {
  /** subresource is "" for the object itself, or "status", "scale", ... */
  subresource: string;
  /** version is the API version the client used. */
  version: string;
  /** unknownFields is how fields not in a CRD schema are treated: Strict → error, Warn → warning, Ignore → dropped. */
  fieldValidation: 'Strict' | 'Warn' | 'Ignore';
  /** warnings collects Warning headers for the response. */
  warnings: string[];
}

/** KindRules holds the kind-specific behaviour of writes. Every hook is optional. */
export interface KindRules {
  /** prepareCreate fills defaults and server-owned fields of a new object (mutating it). */
  prepareCreate?(obj: KubeObject, ctx: WriteContext): void;
  /** prepareUpdate fills defaults on an updated object (mutating next). */
  prepareUpdate?(next: KubeObject, old: KubeObject, ctx: WriteContext): void;
  /** validate returns every field error of an object about to be written. */
  validate?(obj: KubeObject, old: KubeObject | undefined, ctx: WriteContext): FieldError[];
  /** gracePeriodSeconds picks the grace of a DELETE (pods); 0 or absent deletes at once. */
  gracePeriodSeconds?(obj: KubeObject, requested: number | undefined): number;
  /** prepareDelete marks an object whose deletion has begun (mutating it), e.g. a namespace's phase. */
  prepareDelete?(obj: KubeObject): void;
  /** blocksRemoval tells whether a deleting object must stay although its finalizers are empty (namespace spec.finalizers). */
  blocksRemoval?(obj: KubeObject): boolean;
}

export interface ResourceType {
  group: string;
  /** version is the storage (and preferred) version. */
  version: string;
  /** versions lists every served version, preferred first. */
  versions: string[];
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  verbs: string[];
  /** statusSubresource: writes to the object ignore .status; /status writes only .status. */
  statusSubresource: boolean;
  scale?: ScaleSpec;
  /** otherSubresources lists subresources served by special handlers: log, binding, eviction, finalize. */
  otherSubresources: string[];
  /** generation: metadata.generation counts changes outside metadata (and status). */
  generation: boolean;
  /** allowUnconditionalUpdate: PUT without a resourceVersion is allowed (built-ins); custom resources say no. */
  allowUnconditionalUpdate: boolean;
  /** allowCreateOnUpdate: PUT of a missing object creates it. */
  allowCreateOnUpdate: boolean;
  /** custom: served from a CRD (merge patch only, schema validation, no strategic merge). */
  custom: boolean;
  /** printer renders Table output for a served version. */
  printer(version: string): Printer;
  /** fieldSelectors maps the supported field labels (beyond metadata.name/namespace) to their value. */
  fieldSelectors: Record<string, (obj: KubeObject) => string>;
  rules: KindRules;
  /** nameRule is how metadata.name is validated. */
  nameRule: NameRule;
  /** topLevelFields lists a built-in kind's fields besides apiVersion, kind and metadata (others are unknown). */
  topLevelFields?: string[];
  /** patchMeta drives strategic merge patches of built-in kinds (absent for custom resources). */
  patchMeta?: PatchMeta;
  /** schema returns the OpenAPI v3 schema of a version (custom resources), or undefined. */
  schema?(version: string): JsonObject | undefined;
}

/** storeKey is where objects of a type live in the store: "group/plural". */
export function storeKey(type: Pick<ResourceType, 'group' | 'plural'>): string {
  return `${type.group}/${type.plural}`;
}

/** groupVersion renders "v1" for core and "group/version" otherwise. */
export function groupVersion(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

/** qualifiedKind is "Pod" for core kinds and "ReplicaGroup.replicant.dev" otherwise, as in 422 messages. */
export function qualifiedKind(type: Pick<ResourceType, 'group' | 'kind'>): string {
  return type.group ? `${type.kind}.${type.group}` : type.kind;
}

export const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
