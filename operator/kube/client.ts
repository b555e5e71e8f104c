// Kubernetes API access for the operator: loading the kubeconfig (file,
// KUBECONFIG, or in-cluster), the typed API clients, and reading HTTP status
// codes from client-node errors. Must never decide anything.
import * as k8s from '@kubernetes/client-node';

export interface KubeClients {
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  custom: k8s.CustomObjectsApi;
  policy: k8s.PolicyV1Api;
  coordination: k8s.CoordinationV1Api;
  networking: k8s.NetworkingV1Api;
}

/** loadKube reads `path`, else $KUBECONFIG or ~/.kube/config, else the in-cluster service account. */
export function loadKube(path?: string): KubeClients {
  const kc = new k8s.KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  if (!kc.getCurrentCluster()) throw new Error('no Kubernetes cluster configured: pass --kubeconfig, set KUBECONFIG, or run in a pod');
  return {
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    custom: kc.makeApiClient(k8s.CustomObjectsApi),
    policy: kc.makeApiClient(k8s.PolicyV1Api),
    coordination: kc.makeApiClient(k8s.CoordinationV1Api),
    networking: kc.makeApiClient(k8s.NetworkingV1Api),
  };
}

/** httpStatus is the HTTP status of a failed API call, if it was one. */
export function httpStatus(e: unknown): number | undefined {
  if (e instanceof k8s.ApiException) return e.code;
  const c = (e as { code?: unknown })?.code;
  return typeof c === 'number' ? c : undefined;
}

/** describeError renders an API error in one line (the Status message when there is one). */
export function describeError(e: unknown): string {
  if (e instanceof k8s.ApiException) {
    let msg = '';
    try {
      const body = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
      msg = body?.message ?? '';
    } catch {
      msg = String(e.body ?? '');
    }
    return `HTTP ${e.code}${msg ? `: ${msg}` : ''}`;
  }
  return (e as Error)?.message ?? String(e);
}

/** ignoreStatus swallows API errors with the given HTTP statuses (e.g. 404 on delete, 409 on create). */
export async function ignoreStatus<T>(p: Promise<T>, ...codes: number[]): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (codes.includes(httpStatus(e) ?? -1)) return undefined;
    throw e;
  }
}
