// A container's environment as the kubelet builds it: image env, then envFrom
// (ConfigMaps/Secrets), then env entries (value with $(VAR) expansion,
// fieldRef, resourceFieldRef, configMapKeyRef, secretKeyRef), plus HOSTNAME,
// PATH (this repository's node_modules/.bin first), the Service variables and
// KUBERNETES_SERVICE_HOST/PORT (the API server's HTTPS address).
// It must never pass the host's own environment through (test runner variables
// such as NODE_TEST_CONTEXT would change how child programs behave).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JsonObject, KubeObject } from '../store/object.ts';

/** REPO_BIN is this repository's node_modules/.bin (so `node` is the project's Node 24). */
export const REPO_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../node_modules/.bin');

/** REPO_ROOT is this repository's root (the default working directory). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export class ConfigError extends Error {}

/** Lookup finds ConfigMaps and Secrets of the pod's namespace. */
export interface EnvLookup {
  configMap(name: string): KubeObject | undefined;
  secret(name: string): KubeObject | undefined;
  services(): KubeObject[];
  /** apiServer is the HTTPS address in-cluster clients use (KUBERNETES_SERVICE_HOST/PORT). */
  apiServer?: { host: string; port: number };
}

/** apiServerVariables are the kubernetes Service's variables, which the kubelet always sets. */
function apiServerVariables(a: { host: string; port: number }): Record<string, string> {
  const url = `tcp://${a.host}:${a.port}`;
  return {
    KUBERNETES_SERVICE_HOST: a.host,
    KUBERNETES_SERVICE_PORT: String(a.port),
    KUBERNETES_SERVICE_PORT_HTTPS: String(a.port),
    KUBERNETES_PORT: url,
    [`KUBERNETES_PORT_${a.port}_TCP`]: url,
    [`KUBERNETES_PORT_${a.port}_TCP_PROTO`]: 'tcp',
    [`KUBERNETES_PORT_${a.port}_TCP_PORT`]: String(a.port),
    [`KUBERNETES_PORT_${a.port}_TCP_ADDR`]: a.host,
  };
}

/** expand replaces $(VAR) with earlier variables ($$ escapes), leaving unknown references as they are. */
export function expand(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => {
    if (m === '$$') return '$';
    return name !== undefined && Object.hasOwn(vars, name) ? vars[name] : m;
  });
}

/** fieldValue reads a downward-API fieldRef path of a pod. */
export function podFieldValue(pod: KubeObject, fieldPath: string): string | undefined {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (m) return pod.metadata[m[1] as 'labels' | 'annotations']?.[m[2]];
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata.name;
    case 'metadata.namespace':
      return pod.metadata.namespace;
    case 'metadata.uid':
      return pod.metadata.uid;
    case 'spec.nodeName':
      return pod.spec?.nodeName;
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName;
    case 'status.podIP':
      return pod.status?.podIP;
    case 'status.podIPs':
      return (pod.status?.podIPs ?? []).map((p: JsonObject) => p.ip).join(',');
    case 'status.hostIP':
      return pod.status?.hostIP;
    case 'status.hostIPs':
      return (pod.status?.hostIPs ?? []).map((p: JsonObject) => p.ip).join(',');
    case 'metadata.labels':
      return Object.entries(pod.metadata.labels ?? {}).map(([k, v]) => `${k}="${v}"`).join('\n');
    case 'metadata.annotations':
      return Object.entries(pod.metadata.annotations ?? {}).map(([k, v]) => `${k}="${v}"`).join('\n');
    default:
      return undefined;
  }
}

function resourceValue(container: JsonObject, ref: JsonObject): string {
  const [kind, res] = String(ref.resource ?? '').split('.');
  const v = container.resources?.[kind]?.[res];
  if (v !== undefined) return String(v);
  return res === 'cpu' ? '1' : res === 'memory' ? String(8 * 1024 * 1024 * 1024) : '0';
}

function keyOf(obj: KubeObject, key: string, secret: boolean): string | undefined {
  const v = obj.data?.[key];
  if (v !== undefined) return secret ? Buffer.from(String(v), 'base64').toString('utf8') : String(v);
  const b = obj.binaryData?.[key];
  return b !== undefined ? Buffer.from(String(b), 'base64').toString('utf8') : undefined;
}

/** serviceVariables builds FOO_SERVICE_HOST / FOO_SERVICE_PORT for the namespace's Services. */
function serviceVariables(services: KubeObject[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const svc of services) {
    const ip = svc.spec?.clusterIP;
    if (!ip || ip === 'None') continue;
    const prefix = svc.metadata.name.toUpperCase().replace(/-/g, '_');
    const ports: JsonObject[] = svc.spec?.ports ?? [];
    if (ports.length === 0) continue;
    out[`${prefix}_SERVICE_HOST`] = ip;
    out[`${prefix}_SERVICE_PORT`] = String(ports[0].port);
    for (const p of ports) {
      if (p.name) out[`${prefix}_SERVICE_PORT_${String(p.name).toUpperCase().replace(/-/g, '_')}`] = String(p.port);
      const proto = String(p.protocol ?? 'TCP');
      const base = `${prefix}_PORT_${p.port}_${proto}`;
      out[base] = `${proto.toLowerCase()}://${ip}:${p.port}`;
      out[`${base}_PROTO`] = proto.toLowerCase();
      out[`${base}_PORT`] = String(p.port);
      out[`${base}_ADDR`] = ip;
    }
    out[`${prefix}_PORT`] = `${String(ports[0].protocol ?? 'TCP').toLowerCase()}://${ip}:${ports[0].port}`;
  }
  return out;
}

/** containerEnv computes the environment; a missing ConfigMap/Secret key throws ConfigError (CreateContainerConfigError). */
export function containerEnv(pod: KubeObject, container: JsonObject, imageEnv: Record<string, string>, lookup: EnvLookup, hostname: string): Record<string, string> {
  const env: Record<string, string> = {
    PATH: `${REPO_BIN}:${process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'}`,
    HOME: process.env.HOME ?? '/root',
    HOSTNAME: hostname,
  };
  if (process.env.LANG) env.LANG = process.env.LANG;
  if (process.env.TZ) env.TZ = process.env.TZ;
  if (pod.spec?.enableServiceLinks !== false) Object.assign(env, serviceVariables(lookup.services()));
  if (lookup.apiServer) Object.assign(env, apiServerVariables(lookup.apiServer));
  Object.assign(env, imageEnv);
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    const ref = from.configMapRef ?? from.secretRef;
    const secret = !!from.secretRef;
    const obj = secret ? lookup.secret(ref?.name) : lookup.configMap(ref?.name);
    if (!obj) {
      if (ref?.optional) continue;
      throw new ConfigError(`${secret ? 'secret' : 'configmap'} "${ref?.name}" not found`);
    }
    for (const key of [...Object.keys(obj.data ?? {}), ...Object.keys(obj.binaryData ?? {})]) {
      env[prefix + key] = keyOf(obj, key, secret) ?? '';
    }
  }
  for (const e of container.env ?? []) {
    if (!e?.name) continue;
    if (e.valueFrom) {
      const vf = e.valueFrom;
      if (vf.fieldRef) {
        const v = podFieldValue(pod, vf.fieldRef.fieldPath);
        if (v === undefined) throw new ConfigError(`unsupported fieldRef ${vf.fieldRef.fieldPath} for env ${e.name}`);
        env[e.name] = v;
      } else if (vf.resourceFieldRef) {
        env[e.name] = resourceValue(container, vf.resourceFieldRef);
      } else if (vf.configMapKeyRef || vf.secretKeyRef) {
        const secret = !!vf.secretKeyRef;
        const ref = vf.configMapKeyRef ?? vf.secretKeyRef;
        const obj = secret ? lookup.secret(ref.name) : lookup.configMap(ref.name);
        const v = obj ? keyOf(obj, ref.key, secret) : undefined;
        if (v === undefined) {
          if (ref.optional) continue;
          throw new ConfigError(obj ? `couldn't find key ${ref.key} in ${secret ? 'Secret' : 'ConfigMap'} ${pod.metadata.namespace}/${ref.name}` : `${secret ? 'secret' : 'configmap'} "${ref.name}" not found`);
        }
        env[e.name] = v;
      }
    } else {
      env[e.name] = expand(String(e.value ?? ''), env);
    }
  }
  return env;
}
