// The workload kinds of apps/v1 that localkube runs: Deployment and ReplicaSet
// (status and scale subresources, generation), with the API server's defaults,
// the validation their controllers rely on (a selector that matches the
// template's labels) and the `kubectl get` columns.
// It must never create or delete pods: controllers/deployments.ts and
// controllers/replicasets.ts do.
import { fieldInvalid, fieldRequired } from '../../api/errors.ts';
import type { FieldError } from '../../api/errors.ts';
import { fromMetaLabelSelector, matchesLabels } from '../../api/selectors.ts';
import type { JsonObject, KubeObject } from '../../store/object.ts';
import { deepEqual, isPlainObject } from '../../store/object.ts';
import { age, AGE_COLUMN, column, joinOrNone, NAME_COLUMN } from '../printing.ts';
import type { ResourceType } from '../types.ts';
import { defineBuiltin } from './define.ts';
import { defaultPodSpec } from './pods.ts';

const INT_OR_PERCENT = /^(\d+|\d+%)$/;

function defaultTemplate(template: JsonObject | undefined): void {
  if (isPlainObject(template?.spec)) defaultPodSpec(template.spec, { pod: false });
}

function validateReplicas(obj: KubeObject): FieldError[] {
  const r = obj.spec?.replicas;
  if (r !== undefined && (!Number.isInteger(r) || r < 0)) return [fieldInvalid('spec.replicas', r, 'must be greater than or equal to 0')];
  return [];
}

/** validateSelector: a selector is required, may not be empty, and must select the template's labels. */
function validateSelector(obj: KubeObject, old: KubeObject | undefined): FieldError[] {
  const errors: FieldError[] = [];
  const sel = obj.spec?.selector;
  if (!isPlainObject(sel) || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0)) {
    return [fieldRequired('spec.selector')];
  }
  if (!isPlainObject(obj.spec?.template)) return [fieldRequired('spec.template')];
  if (!matchesLabels(fromMetaLabelSelector(sel), obj.spec.template.metadata?.labels)) {
    errors.push(fieldInvalid('spec.template.metadata.labels', obj.spec.template.metadata?.labels ?? {}, '`selector` does not match template `labels`'));
  }
  if (old && !deepEqual(old.spec?.selector, sel)) errors.push(fieldInvalid('spec.selector', sel, 'field is immutable'));
  if (!Array.isArray(obj.spec.template.spec?.containers) || obj.spec.template.spec.containers.length === 0) {
    errors.push(fieldRequired('spec.template.spec.containers'));
  }
  return errors;
}

function selectorCell(sel: JsonObject | undefined): string {
  const parts = [
    ...Object.entries(sel?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`),
    ...((sel?.matchExpressions ?? []) as JsonObject[]).map((e) => `${e.key} ${String(e.operator).toLowerCase()} (${(e.values ?? []).join(',')})`),
  ];
  return joinOrNone(parts);
}

const wideColumns = [
  column('Containers', 'string', 'Names of each container in the template.', 1),
  column('Images', 'string', 'Images referenced by each container in the template.', 1),
  column('Selector', 'string', 'Label selector for pods.', 1),
];

function wideCells(obj: KubeObject): string[] {
  const containers: JsonObject[] = obj.spec?.template?.spec?.containers ?? [];
  return [containers.map((c) => c.name).join(','), containers.map((c) => c.image).join(','), selectorCell(obj.spec?.selector)];
}

export const deploymentType: ResourceType = defineBuiltin({
  topLevelFields: ['spec', 'status'],
  group: 'apps',
  version: 'v1',
  kind: 'Deployment',
  plural: 'deployments',
  namespaced: true,
  shortNames: ['deploy'],
  categories: ['all'],
  statusSubresource: true,
  generation: true,
  scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' },
  print: {
    columns: [
      NAME_COLUMN,
      column('Ready', 'string', 'Number of the pod with ready state'),
      column('Up-to-date', 'string', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.'),
      column('Available', 'string', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.'),
      AGE_COLUMN,
      ...wideColumns,
    ],
    cells: (d, now) => [
      d.metadata.name,
      `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 0}`,
      d.status?.updatedReplicas ?? 0,
      d.status?.availableReplicas ?? 0,
      age(d.metadata.creationTimestamp, now),
      ...wideCells(d),
    ],
  },
  rules: {
    prepareCreate(obj) {
      const spec: JsonObject = (obj.spec ??= {});
      spec.replicas ??= 1;
      spec.strategy ??= {};
      spec.strategy.type ??= 'RollingUpdate';
      if (spec.strategy.type === 'RollingUpdate') {
        spec.strategy.rollingUpdate ??= {};
        spec.strategy.rollingUpdate.maxSurge ??= '25%';
        spec.strategy.rollingUpdate.maxUnavailable ??= '25%';
      }
      spec.revisionHistoryLimit ??= 10;
      spec.progressDeadlineSeconds ??= 600;
      defaultTemplate(spec.template);
    },
    prepareUpdate(next) {
      if (!isPlainObject(next.spec)) return;
      next.spec.replicas ??= 1;
      defaultTemplate(next.spec.template);
    },
    validate(obj, old) {
      const errors = [...validateReplicas(obj), ...validateSelector(obj, old)];
      const strategy = obj.spec?.strategy ?? {};
      if (!['RollingUpdate', 'Recreate'].includes(strategy.type)) {
        errors.push(fieldInvalid('spec.strategy.type', strategy.type, 'supported values: "Recreate", "RollingUpdate"'));
      }
      if (strategy.type === 'Recreate' && strategy.rollingUpdate) {
        errors.push(fieldInvalid('spec.strategy.rollingUpdate', strategy.rollingUpdate, 'may not be specified when strategy `type` is \'Recreate\''));
      }
      for (const f of ['maxSurge', 'maxUnavailable']) {
        const v = strategy.rollingUpdate?.[f];
        if (v !== undefined && !(Number.isInteger(v) && v >= 0) && !(typeof v === 'string' && INT_OR_PERCENT.test(v))) {
          errors.push(fieldInvalid(`spec.strategy.rollingUpdate.${f}`, v, 'must be a non-negative integer or a percentage'));
        }
      }
      const ru = strategy.rollingUpdate;
      if (ru && isZero(ru.maxSurge) && isZero(ru.maxUnavailable)) {
        errors.push(fieldInvalid('spec.strategy.rollingUpdate.maxUnavailable', ru.maxUnavailable, 'may not be 0 when `maxSurge` is 0'));
      }
      return errors;
    },
  },
});

function isZero(v: unknown): boolean {
  return v === 0 || v === '0' || v === '0%';
}

export const replicaSetType: ResourceType = defineBuiltin({
  topLevelFields: ['spec', 'status'],
  group: 'apps',
  version: 'v1',
  kind: 'ReplicaSet',
  plural: 'replicasets',
  namespaced: true,
  shortNames: ['rs'],
  categories: ['all'],
  statusSubresource: true,
  generation: true,
  scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' },
  print: {
    columns: [
      NAME_COLUMN,
      column('Desired', 'integer', 'Number of desired pods.'),
      column('Current', 'integer', 'Number of actual replicas.'),
      column('Ready', 'integer', 'The number of ready replicas for this replica set.'),
      AGE_COLUMN,
      ...wideColumns,
    ],
    cells: (rs, now) => [
      rs.metadata.name,
      rs.spec?.replicas ?? 0,
      rs.status?.replicas ?? 0,
      rs.status?.readyReplicas ?? 0,
      age(rs.metadata.creationTimestamp, now),
      ...wideCells(rs),
    ],
  },
  rules: {
    prepareCreate(obj) {
      const spec: JsonObject = (obj.spec ??= {});
      spec.replicas ??= 1;
      defaultTemplate(spec.template);
      obj.status = { replicas: 0 };
    },
    prepareUpdate(next) {
      if (!isPlainObject(next.spec)) return;
      next.spec.replicas ??= 1;
      defaultTemplate(next.spec.template);
    },
    validate: (obj, old) => [...validateReplicas(obj), ...validateSelector(obj, old)],
  },
});

export const APPS_TYPES: ResourceType[] = [deploymentType, replicaSetType];
