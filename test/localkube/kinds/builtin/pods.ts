// The Pod kind (core/v1): defaults the API server fills in, validation of the
// fields the process kubelet relies on, the update rules (a pod's spec is mostly
// immutable), graceful deletion and the `kubectl get pods` columns.
// It must never run anything: the kubelet does.
import type { FieldError } from '../../api/errors.ts';
import { fieldDuplicate, fieldForbidden, fieldInvalid, fieldNotSupported, fieldRequired } from '../../api/errors.ts';
import { isDnsLabel } from '../../api/meta-validation.ts';
import type { JsonObject, KubeObject } from '../../store/object.ts';
import { deepEqual, isPlainObject } from '../../store/object.ts';
import { age, column, NAME_COLUMN } from '../printing.ts';
import type { Printer, ResourceType } from '../types.ts';
import { defineBuiltin } from './define.ts';

const PROBE_DEFAULTS = { timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 };

function defaultProbe(probe: JsonObject | undefined): void {
  if (!isPlainObject(probe)) return;
  for (const [k, v] of Object.entries(PROBE_DEFAULTS)) probe[k] ??= v;
  if (isPlainObject(probe.httpGet)) {
    probe.httpGet.scheme ??= 'HTTP';
    probe.httpGet.path ??= '/';
  }
}

function defaultContainer(c: JsonObject): void {
  if (!isPlainObject(c)) return;
  const image = typeof c.image === 'string' ? c.image : '';
  const tag = image.includes('@') ? 'digest' : /:[^/]+$/.test(image) ? image.slice(image.lastIndexOf(':') + 1) : 'latest';
  c.imagePullPolicy ??= tag === 'latest' ? 'Always' : 'IfNotPresent';
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  c.resources ??= {};
  for (const p of Array.isArray(c.ports) ? c.ports : []) if (isPlainObject(p)) p.protocol ??= 'TCP';
  for (const e of Array.isArray(c.env) ? c.env : []) {
    if (isPlainObject(e?.valueFrom?.fieldRef)) e.valueFrom.fieldRef.apiVersion ??= 'v1';
  }
  defaultProbe(c.readinessProbe);
  defaultProbe(c.livenessProbe);
  defaultProbe(c.startupProbe);
}

/**
 * defaultPodSpec fills what the API server defaults in a PodSpec. For a pod
 * (not a workload's template) it also does what admission adds to pods: the
 * ServiceAccount name and the DefaultTolerationSeconds tolerations.
 */
export function defaultPodSpec(spec: JsonObject, options: { pod?: boolean } = {}): void {
  const pod = options.pod ?? true;
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  spec.enableServiceLinks ??= true;
  spec.priority ??= 0;
  spec.preemptionPolicy ??= 'PreemptLowerPriority';
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) defaultContainer(c);
  for (const v of Array.isArray(spec.volumes) ? spec.volumes : []) {
    if (isPlainObject(v?.configMap)) v.configMap.defaultMode ??= 420;
    if (isPlainObject(v?.secret)) v.secret.defaultMode ??= 420;
  }
  if (!pod) return;
  spec.serviceAccountName ??= spec.serviceAccount ?? 'default';
  spec.serviceAccount ??= spec.serviceAccountName;
  // The DefaultTolerationSeconds admission plugin: tolerate a lost node for 5 minutes.
  const tolerations: JsonObject[] = Array.isArray(spec.tolerations) ? spec.tolerations : [];
  for (const key of ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable']) {
    if (!tolerations.some((t) => t?.key === key && (t.effect === 'NoExecute' || !t.effect))) {
      tolerations.push({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
    }
  }
  spec.tolerations = tolerations;
}

/** SERVICE_ACCOUNT_DIR is where in-cluster clients look for token, ca.crt and namespace. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * mountServiceAccount is what the ServiceAccount admission plugin adds to a new
 * pod unless spec.automountServiceAccountToken is false: a projected
 * `kube-api-access-*` volume (token, the cluster CA from the kube-root-ca.crt
 * ConfigMap, the namespace) mounted read-only in every container.
 */
export function mountServiceAccount(spec: JsonObject): void {
  if (spec.automountServiceAccountToken === false) return;
  const containers: JsonObject[] = [...(spec.initContainers ?? []), ...(spec.containers ?? [])].filter(isPlainObject);
  const needs = containers.filter((c) => !(c.volumeMounts ?? []).some((m: JsonObject) => m?.mountPath === SERVICE_ACCOUNT_DIR));
  if (needs.length === 0) return;
  const name = `kube-api-access-${Array.from({ length: 5 }, () => 'bcdfghjklmnpqrstvwxz2456789'[Math.floor(Math.random() * 27)]).join('')}`;
  spec.volumes = [
    ...(Array.isArray(spec.volumes) ? spec.volumes : []),
    {
      name,
      projected: {
        defaultMode: 420,
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
          { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
        ],
      },
    },
  ];
  for (const c of needs) c.volumeMounts = [...(Array.isArray(c.volumeMounts) ? c.volumeMounts : []), { name, readOnly: true, mountPath: SERVICE_ACCOUNT_DIR }];
}

const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];

function validateContainers(list: unknown, field: string, required: boolean, volumeNames: Set<string>): FieldError[] {
  const errors: FieldError[] = [];
  if (list === undefined || (Array.isArray(list) && list.length === 0)) {
    if (required) errors.push(fieldRequired(field));
    return errors;
  }
  if (!Array.isArray(list)) return [fieldInvalid(field, list, 'must be a list of containers')];
  const names = new Set<string>();
  list.forEach((c, i) => {
    const at = `${field}[${i}]`;
    if (!isPlainObject(c)) {
      errors.push(fieldInvalid(at, c, 'must be an object'));
      return;
    }
    if (!c.name) errors.push(fieldRequired(`${at}.name`));
    else if (typeof c.name !== 'string' || !isDnsLabel(c.name)) errors.push(fieldInvalid(`${at}.name`, c.name, "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"));
    else if (names.has(c.name)) errors.push(fieldDuplicate(`${at}.name`, c.name));
    else names.add(c.name);
    if (!c.image || typeof c.image !== 'string') errors.push(fieldRequired(`${at}.image`));
    for (const key of ['command', 'args']) {
      if (c[key] !== undefined && (!Array.isArray(c[key]) || c[key].some((s: unknown) => typeof s !== 'string'))) {
        errors.push(fieldInvalid(`${at}.${key}`, c[key], 'must be a list of strings'));
      }
    }
    (Array.isArray(c.ports) ? c.ports : []).forEach((p: JsonObject, j: number) => {
      const port = p?.containerPort;
      if (!Number.isInteger(port) || port < 1 || port > 65535) errors.push(fieldInvalid(`${at}.ports[${j}].containerPort`, port ?? 0, 'must be between 1 and 65535, inclusive'));
    });
    (Array.isArray(c.env) ? c.env : []).forEach((e: JsonObject, j: number) => {
      if (!e?.name) errors.push(fieldRequired(`${at}.env[${j}].name`));
    });
    (Array.isArray(c.volumeMounts) ? c.volumeMounts : []).forEach((m: JsonObject, j: number) => {
      if (!m?.name) errors.push(fieldRequired(`${at}.volumeMounts[${j}].name`));
      else if (!volumeNames.has(m.name)) errors.push({ type: 'FieldValueNotFound', field: `${at}.volumeMounts[${j}].name`, message: `Not found: ${JSON.stringify(m.name)}` });
      if (!m?.mountPath) errors.push(fieldRequired(`${at}.volumeMounts[${j}].mountPath`));
    });
  });
  return errors;
}

function validatePod(obj: KubeObject, old: KubeObject | undefined): FieldError[] {
  const spec = obj.spec;
  if (!isPlainObject(spec)) return [fieldRequired('spec')];
  const errors: FieldError[] = [];
  const volumeNames = new Set<string>();
  (Array.isArray(spec.volumes) ? spec.volumes : []).forEach((v: JsonObject, i: number) => {
    if (!v?.name) errors.push(fieldRequired(`spec.volumes[${i}].name`));
    else if (volumeNames.has(v.name)) errors.push(fieldDuplicate(`spec.volumes[${i}].name`, v.name));
    else volumeNames.add(v.name);
  });
  errors.push(...validateContainers(spec.containers, 'spec.containers', true, volumeNames));
  errors.push(...validateContainers(spec.initContainers, 'spec.initContainers', false, volumeNames));
  if (!RESTART_POLICIES.includes(spec.restartPolicy)) errors.push(fieldNotSupported('spec.restartPolicy', spec.restartPolicy, RESTART_POLICIES));
  if (spec.hostname !== undefined && !isDnsLabel(String(spec.hostname))) errors.push(fieldInvalid('spec.hostname', spec.hostname, 'must be a DNS label'));
  if (spec.subdomain !== undefined && !isDnsLabel(String(spec.subdomain))) errors.push(fieldInvalid('spec.subdomain', spec.subdomain, 'must be a DNS label'));
  // Binding (scheduling) sets nodeName once; everything else follows the pod update rules.
  const bindable = !old?.spec?.nodeName;
  if (old && !deepEqual(mutableSpec(old.spec, bindable), mutableSpec(spec, bindable))) {
    errors.push(
      fieldForbidden(
        'spec',
        'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
      ),
    );
  }
  return errors;
}

/** mutableSpec strips the pod spec fields an update may change. */
function mutableSpec(spec: JsonObject | undefined, ignoreNodeName: boolean): JsonObject {
  const copy: JsonObject = structuredClone(spec ?? {});
  for (const list of ['containers', 'initContainers']) {
    for (const c of Array.isArray(copy[list]) ? copy[list] : []) if (isPlainObject(c)) delete c.image;
  }
  delete copy.activeDeadlineSeconds;
  delete copy.tolerations;
  delete copy.terminationGracePeriodSeconds;
  if (ignoreNodeName) delete copy.nodeName;
  return copy;
}

/** isPodReady tells whether a pod's Ready condition is True. */
export function isPodReady(pod: KubeObject): boolean {
  return (pod.status?.conditions ?? []).some((c: JsonObject) => c.type === 'Ready' && c.status === 'True');
}

/** podStatusReason is the STATUS column of `kubectl get pods` (kubectl's printPod rules). */
export function podStatusReason(pod: KubeObject): { reason: string; ready: number; restarts: number; lastRestart?: string } {
  const status = pod.status ?? {};
  let reason: string = status.reason || status.phase || 'Pending';
  let restarts = 0;
  let ready = 0;
  let lastRestart: string | undefined;
  const noteRestart = (cs: JsonObject) => {
    const t = cs.lastState?.terminated?.finishedAt;
    if (t && (!lastRestart || t > lastRestart)) lastRestart = t;
  };
  let initializing = false;
  const inits: JsonObject[] = status.initContainerStatuses ?? [];
  for (const [i, cs] of inits.entries()) {
    restarts += cs.restartCount ?? 0;
    noteRestart(cs);
    const term = cs.state?.terminated;
    const wait = cs.state?.waiting;
    if (term && term.exitCode === 0) continue;
    if (term) reason = term.reason ? `Init:${term.reason}` : term.signal ? `Init:Signal:${term.signal}` : `Init:ExitCode:${term.exitCode}`;
    else if (wait?.reason && wait.reason !== 'PodInitializing') reason = `Init:${wait.reason}`;
    else reason = `Init:${i}/${(pod.spec?.initContainers ?? []).length}`;
    initializing = true;
    break;
  }
  if (!initializing) {
    restarts = 0;
    let hasRunning = false;
    const statuses: JsonObject[] = [...(status.containerStatuses ?? [])].reverse();
    for (const cs of statuses) {
      restarts += cs.restartCount ?? 0;
      noteRestart(cs);
      const wait = cs.state?.waiting;
      const term = cs.state?.terminated;
      if (wait?.reason) reason = wait.reason;
      else if (term?.reason) reason = term.reason;
      else if (term) reason = term.signal ? `Signal:${term.signal}` : `ExitCode:${term.exitCode}`;
      else if (cs.ready && cs.state?.running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning) {
      const readyCond = (status.conditions ?? []).find((c: JsonObject) => c.type === 'Ready');
      reason = readyCond?.status === 'True' ? 'Running' : 'NotReady';
    }
  }
  if (pod.metadata.deletionTimestamp && status.reason === 'NodeLost') reason = 'Unknown';
  else if (pod.metadata.deletionTimestamp) reason = 'Terminating';
  return { reason, ready, restarts, lastRestart };
}

const podPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
    column('Status', 'string', 'The aggregate status of the containers in this pod.'),
    column('Restarts', 'string', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
    column('Age', 'string', 'CreationTimestamp is a timestamp representing the server time when this object was created.'),
    column('IP', 'string', 'IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.', 1),
    column('Node', 'string', 'NodeName is a request to schedule this pod onto a specific node.', 1),
    column('Nominated Node', 'string', 'nominatedNodeName is set only when this pod preempts other pods on the node.', 1),
    column('Readiness Gates', 'string', 'If specified, all readiness gates will be evaluated for pod readiness.', 1),
  ],
  cells(pod, now) {
    const { reason, ready, restarts, lastRestart } = podStatusReason(pod);
    const total = (pod.spec?.containers ?? []).length;
    const restartCell = lastRestart ? `${restarts} (${age(lastRestart, now)} ago)` : String(restarts);
    const gates: JsonObject[] = pod.spec?.readinessGates ?? [];
    const gateCell = gates.length === 0 ? '<none>' : `${gates.filter((g) => (pod.status?.conditions ?? []).some((c: JsonObject) => c.type === g.conditionType && c.status === 'True')).length}/${gates.length}`;
    return [
      pod.metadata.name,
      `${ready}/${total}`,
      reason,
      restartCell,
      age(pod.metadata.creationTimestamp, now),
      pod.status?.podIP || '<none>',
      pod.spec?.nodeName || '<none>',
      pod.status?.nominatedNodeName || '<none>',
      gateCell,
    ];
  },
};

export const podType: ResourceType = defineBuiltin({
  topLevelFields: ['spec', 'status'],
  group: '',
  version: 'v1',
  kind: 'Pod',
  plural: 'pods',
  namespaced: true,
  shortNames: ['po'],
  categories: ['all'],
  statusSubresource: true,
  otherSubresources: ['log', 'binding', 'eviction'],
  print: podPrinter,
  fieldSelectors: {
    'spec.nodeName': (o) => o.spec?.nodeName ?? '',
    'spec.restartPolicy': (o) => o.spec?.restartPolicy ?? '',
    'spec.schedulerName': (o) => o.spec?.schedulerName ?? '',
    'spec.serviceAccountName': (o) => o.spec?.serviceAccountName ?? '',
    'spec.hostNetwork': (o) => String(o.spec?.hostNetwork ?? false),
    'status.phase': (o) => o.status?.phase ?? '',
    'status.podIP': (o) => o.status?.podIP ?? '',
    'status.nominatedNodeName': (o) => o.status?.nominatedNodeName ?? '',
  },
  rules: {
    prepareCreate(obj) {
      if (isPlainObject(obj.spec)) {
        defaultPodSpec(obj.spec);
        mountServiceAccount(obj.spec);
      }
      obj.status = { phase: 'Pending', qosClass: 'BestEffort' };
    },
    prepareUpdate(next, old) {
      if (isPlainObject(next.spec)) defaultPodSpec(next.spec);
      // kubelet-owned fields the object itself never changes.
      if (old.spec?.nodeName && next.spec && !next.spec.nodeName) next.spec.nodeName = old.spec.nodeName;
    },
    validate: (obj, old) => validatePod(obj, old),
    gracePeriodSeconds(pod, requested) {
      if (!pod.spec?.nodeName) return 0;
      const phase = pod.status?.phase;
      if (phase === 'Succeeded' || phase === 'Failed') return 0;
      return requested ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    },
  },
});
