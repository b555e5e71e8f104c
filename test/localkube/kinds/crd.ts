// CustomResourceDefinitions (apiextensions.k8s.io/v1): the CRD kind itself
// (defaults and validation), and turning a CRD into the ResourceType that
// serves its custom resources (versions, names, scope, status and scale
// subresources, printer columns, schema defaulting, pruning and validation,
// selectable fields).
// It must never register anything: controllers/crds.ts does, when a CRD is established.
import { badRequest, fieldInvalid, fieldNotSupported, fieldRequired } from '../api/errors.ts';
import type { FieldError } from '../api/errors.ts';
import type { JsonObject, KubeObject } from '../store/object.ts';
import { isPlainObject } from '../store/object.ts';
import { evaluateJsonPath, parseJsonPath } from './jsonpath.ts';
import { age, column, NAME_COLUMN } from './printing.ts';
import { applyDefaults, pruneUnknown, validateAgainstSchema } from './schema.ts';
import type { ColumnDefinition, Printer, ResourceType, WriteContext } from './types.ts';
import { ALL_VERBS } from './types.ts';
import { nowTimestamp } from '../store/object.ts';
import { setCondition } from '../api/conditions.ts';

/** CLEANUP_FINALIZER holds a deleting CRD until its custom resources are gone. */
export const CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';

import { defineBuiltin } from './builtin/define.ts';
import { sortVersions } from './registry.ts';

function validateCrd(crd: KubeObject): FieldError[] {
  const errors: FieldError[] = [];
  const spec: JsonObject = crd.spec ?? {};
  const names: JsonObject = spec.names ?? {};
  if (!spec.group) errors.push(fieldRequired('spec.group'));
  else if (!String(spec.group).includes('.')) errors.push(fieldInvalid('spec.group', spec.group, 'should be a domain with at least one dot'));
  if (!names.plural) errors.push(fieldRequired('spec.names.plural'));
  if (!names.kind) errors.push(fieldRequired('spec.names.kind'));
  if (names.plural && spec.group && crd.metadata.name !== `${names.plural}.${spec.group}`) {
    errors.push(fieldInvalid('metadata.name', crd.metadata.name, `must be spec.names.plural+"."+spec.group`));
  }
  for (const f of ['plural', 'singular']) {
    if (names[f] && !/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(names[f])) errors.push(fieldInvalid(`spec.names.${f}`, names[f], 'a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \'-\''));
  }
  if (!['Namespaced', 'Cluster'].includes(spec.scope)) errors.push(fieldNotSupported('spec.scope', spec.scope ?? '', ['Cluster', 'Namespaced']));
  const versions: JsonObject[] = Array.isArray(spec.versions) ? spec.versions : [];
  if (versions.length === 0) errors.push(fieldRequired('spec.versions', 'must have exactly one version marked as storage version'));
  else if (versions.filter((v) => v.storage === true).length !== 1) {
    errors.push(fieldInvalid('spec.versions', versions.map((v) => v.name), 'must have exactly one version marked as storage version'));
  }
  versions.forEach((v, i) => {
    const at = `spec.versions[${i}]`;
    if (!v.name || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v.name)) errors.push(fieldInvalid(`${at}.name`, v.name ?? '', 'must be a DNS label'));
    if (typeof v.served !== 'boolean') errors.push(fieldRequired(`${at}.served`));
    if (typeof v.storage !== 'boolean') errors.push(fieldRequired(`${at}.storage`));
    if (!isPlainObject(v.schema?.openAPIV3Schema)) errors.push(fieldRequired(`${at}.schema.openAPIV3Schema`, 'schemas are required'));
    else if (v.schema.openAPIV3Schema.type !== 'object') errors.push(fieldInvalid(`${at}.schema.openAPIV3Schema.type`, v.schema.openAPIV3Schema.type ?? '', 'must be object at the root'));
    const scale = v.subresources?.scale;
    if (scale) {
      if (!/^\.spec\./.test(scale.specReplicasPath ?? '')) errors.push(fieldInvalid(`${at}.subresources.scale.specReplicasPath`, scale.specReplicasPath ?? '', 'should be a json path under .spec'));
      if (!/^\.status\./.test(scale.statusReplicasPath ?? '')) errors.push(fieldInvalid(`${at}.subresources.scale.statusReplicasPath`, scale.statusReplicasPath ?? '', 'should be a json path under .status'));
      if (scale.labelSelectorPath && !/^\.(spec|status)\./.test(scale.labelSelectorPath)) errors.push(fieldInvalid(`${at}.subresources.scale.labelSelectorPath`, scale.labelSelectorPath, 'should be a json path under either .spec or .status'));
    }
    (Array.isArray(v.additionalPrinterColumns) ? v.additionalPrinterColumns : []).forEach((c: JsonObject, j: number) => {
      const cat = `${at}.additionalPrinterColumns[${j}]`;
      if (!c.name) errors.push(fieldRequired(`${cat}.name`));
      if (!['integer', 'number', 'string', 'boolean', 'date'].includes(c.type)) errors.push(fieldNotSupported(`${cat}.type`, c.type ?? '', ['boolean', 'date', 'integer', 'number', 'string']));
      try {
        parseJsonPath(c.jsonPath ?? '');
      } catch (err) {
        errors.push(fieldInvalid(`${cat}.jsonPath`, c.jsonPath ?? '', (err as Error).message));
      }
    });
  });
  return errors;
}

function crdDefaults(crd: KubeObject): void {
  const spec = (crd.spec ??= {});
  const names = (spec.names ??= {});
  if (names.kind) {
    names.singular ??= String(names.kind).toLowerCase();
    names.listKind ??= `${names.kind}List`;
  }
  spec.conversion ??= { strategy: 'None' };
}

export const crdType: ResourceType = defineBuiltin({
  topLevelFields: ['spec', 'status'],
  group: 'apiextensions.k8s.io',
  version: 'v1',
  kind: 'CustomResourceDefinition',
  plural: 'customresourcedefinitions',
  namespaced: false,
  shortNames: ['crd', 'crds'],
  categories: ['api-extensions'],
  statusSubresource: true,
  generation: true,
  print: {
    columns: [NAME_COLUMN, column('Created At', 'date', 'CreationTimestamp is a timestamp representing the server time when this object was created.')],
    cells: (crd) => [crd.metadata.name, crd.metadata.creationTimestamp],
  },
  rules: {
    prepareCreate(obj) {
      crdDefaults(obj);
      obj.status = { conditions: [], acceptedNames: { plural: '', kind: '' }, storedVersions: [] };
    },
    prepareUpdate(next, old) {
      crdDefaults(next);
      if (old.spec?.group !== next.spec?.group) throw badRequest('spec.group of a CustomResourceDefinition is immutable');
    },
    validate: (obj) => validateCrd(obj),
    prepareDelete(crd) {
      crd.metadata.finalizers = [...new Set([...(crd.metadata.finalizers ?? []), CLEANUP_FINALIZER])];
      const status = (crd.status ??= {});
      status.conditions ??= [];
      setCondition(status.conditions, 'Terminating', 'True', 'InstanceDeletionPending', 'CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon', nowTimestamp());
    },
  },
});

/** crdServedVersions lists a CRD's served versions, preferred first. */
function servedVersions(crd: KubeObject): JsonObject[] {
  const versions: JsonObject[] = (crd.spec?.versions ?? []).filter((v: JsonObject) => v.served);
  const order = sortVersions(versions.map((v) => v.name));
  return order.map((name) => versions.find((v) => v.name === name)!);
}

function cellFor(type: string, value: unknown, now: number): unknown {
  switch (type) {
    case 'integer':
      return typeof value === 'number' ? Math.trunc(value) : null;
    case 'number':
      return typeof value === 'number' ? value : null;
    case 'boolean':
      return typeof value === 'boolean' ? value : null;
    case 'date':
      return typeof value === 'string' ? age(value, now) : null;
    default:
      return typeof value === 'string' ? value : JSON.stringify(value);
  }
}

function customPrinter(version: JsonObject): Printer {
  const extra: JsonObject[] = Array.isArray(version.additionalPrinterColumns) ? version.additionalPrinterColumns : [];
  if (extra.length === 0) {
    return {
      columns: [NAME_COLUMN, column('Age', 'date', 'CreationTimestamp is a timestamp representing the server time when this object was created.')],
      cells: (o, now) => [o.metadata.name, age(o.metadata.creationTimestamp, now)],
    };
  }
  const columns: ColumnDefinition[] = [
    NAME_COLUMN,
    ...extra.map((c) => column(c.name, c.type, c.description ?? '', c.priority ?? 0, c.format ?? '')),
  ];
  const paths = extra.map((c) => parseJsonPath(c.jsonPath));
  return {
    columns,
    cells(o, now) {
      return [
        o.metadata.name,
        ...extra.map((c, i) => {
          const found = evaluateJsonPath(o, paths[i]);
          return found.length === 0 ? null : cellFor(c.type, found[0], now);
        }),
      ];
    },
  };
}

/** customResourceType builds the ResourceType serving a CRD's custom resources. */
export function customResourceType(crd: KubeObject): ResourceType {
  const spec: JsonObject = crd.spec;
  const names: JsonObject = spec.names;
  const versions = servedVersions(crd);
  const storage = (spec.versions as JsonObject[]).find((v) => v.storage)!;
  const byName = new Map<string, JsonObject>(versions.map((v) => [v.name, v]));
  const schemaOf = (version: string): JsonObject | undefined => byName.get(version)?.schema?.openAPIV3Schema;
  const statusSubresource = versions.some((v) => v.subresources?.status !== undefined);
  const scaleVersion = versions.find((v) => v.subresources?.scale);
  const printers = new Map<string, Printer>(versions.map((v) => [v.name, customPrinter(v)]));
  const selectable: JsonObject[] = storage.selectableFields ?? [];
  const fieldSelectors: ResourceType['fieldSelectors'] = {};
  for (const f of selectable) {
    const path = parseJsonPath(f.jsonPath);
    const key = String(f.jsonPath).replace(/^\./, '');
    fieldSelectors[key] = (o) => {
      const v = evaluateJsonPath(o, path)[0];
      return v === undefined || v === null ? '' : String(v);
    };
  }

  const prepare = (obj: KubeObject, ctx: WriteContext) => {
    const schema = schemaOf(ctx.version);
    if (!schema) return;
    applyDefaults(obj, schema);
    const unknown = pruneUnknown(obj, schema, '', true);
    if (unknown.length > 0) {
      if (ctx.fieldValidation === 'Strict') {
        throw badRequest(`${names.kind} in version "${ctx.version}" cannot be handled as a ${names.kind}: strict decoding error: ${unknown.map((u) => `unknown field "${u}"`).join(', ')}`);
      }
      if (ctx.fieldValidation === 'Warn') for (const u of unknown) ctx.warnings.push(`unknown field "${u}"`);
    }
  };

  return {
    group: spec.group,
    version: storage.name,
    versions: versions.map((v) => v.name),
    kind: names.kind,
    listKind: names.listKind ?? `${names.kind}List`,
    plural: names.plural,
    singular: names.singular ?? String(names.kind).toLowerCase(),
    namespaced: spec.scope === 'Namespaced',
    shortNames: names.shortNames ?? [],
    categories: names.categories ?? [],
    verbs: ALL_VERBS,
    statusSubresource,
    scale: scaleVersion ? { ...scaleVersion.subresources.scale } : undefined,
    otherSubresources: [],
    generation: true,
    allowUnconditionalUpdate: false,
    allowCreateOnUpdate: false,
    custom: true,
    nameRule: 'subdomain',
    fieldSelectors,
    printer: (version) => printers.get(version) ?? printers.get(versions[0].name)!,
    schema: schemaOf,
    rules: {
      prepareCreate: prepare,
      prepareUpdate: (next, _old, ctx) => prepare(next, ctx),
      validate(obj, _old, ctx) {
        const schema = schemaOf(ctx.version);
        if (!schema) return [];
        const { metadata: _m, apiVersion: _a, kind: _k, ...body } = obj;
        const rootSchema = { ...schema, required: (schema.required ?? []).filter((r: string) => !['metadata', 'apiVersion', 'kind'].includes(r)) };
        const props = { ...(schema.properties ?? {}) };
        delete props.metadata;
        delete props.apiVersion;
        delete props.kind;
        return validateAgainstSchema(body, { ...rootSchema, properties: props }, '');
      },
    },
  };
}

/** crdVersionSummary is the acceptedNames block a CRD's status reports. */
export function acceptedNames(crd: KubeObject): JsonObject {
  const n: JsonObject = crd.spec.names;
  return {
    plural: n.plural,
    singular: n.singular ?? String(n.kind).toLowerCase(),
    kind: n.kind,
    listKind: n.listKind ?? `${n.kind}List`,
    ...(n.shortNames ? { shortNames: n.shortNames } : {}),
    ...(n.categories ? { categories: n.categories } : {}),
  };
}
