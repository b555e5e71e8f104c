// A small client for localkube's /localkube/v1 test hooks, for tests that
// crash, pause or resume pods, take nodes away, wipe claims, find a Service's
// endpoints or resolve cluster names from the host.
// It must never talk to anything but a localkube URL.

export interface ServiceEndpoint {
  ip: string;
  port: number;
  name: string;
  ready: boolean;
  pod?: string;
  hostname?: string;
}

export interface ServiceInfo {
  namespace: string;
  name: string;
  clusterIP?: string;
  ports: { name?: string; port: number; targetPort?: number | string; protocol?: string }[];
  endpoints: ServiceEndpoint[];
}

export class LocalkubeHooks {
  readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/$/, '');
  }

  async #call<T>(method: 'GET' | 'POST', path: string, query: Record<string, string | undefined> = {}): Promise<T> {
    const url = new URL(`${this.baseUrl}/localkube/v1/${path}`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
    const res = await fetch(url, { method });
    const body = (await res.json()) as T & { message?: string };
    if (!res.ok) throw new Error(`localkube ${method} ${path}: ${res.status} ${body.message ?? ''}`);
    return body;
  }

  #pod(ns: string, name: string): string {
    return `pods/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`;
  }

  /** crash kills a container's processes with SIGKILL (default: the first container). */
  async crash(namespace: string, pod: string, container?: string): Promise<void> {
    await this.#call('POST', `${this.#pod(namespace, pod)}/crash`, { container });
  }

  /** pause stops a container's processes with SIGSTOP. */
  async pause(namespace: string, pod: string, container?: string): Promise<void> {
    await this.#call('POST', `${this.#pod(namespace, pod)}/pause`, { container });
  }

  /** resume continues paused processes with SIGCONT. */
  async resume(namespace: string, pod: string, container?: string): Promise<void> {
    await this.#call('POST', `${this.#pod(namespace, pod)}/resume`, { container });
  }

  /** processes lists the main process id of each running container of a pod. */
  async processes(namespace: string, pod: string): Promise<Record<string, number>> {
    return (await this.#call<{ processes: Record<string, number> }>('GET', `${this.#pod(namespace, pod)}/processes`)).processes;
  }

  /** nodeNotReady takes a node away; kill also kills every process on it (a crashed machine). */
  async nodeNotReady(node: string, options: { kill?: boolean } = {}): Promise<void> {
    await this.#call('POST', `nodes/${encodeURIComponent(node)}/notready`, { kill: options.kill ? 'true' : undefined });
  }

  /** nodeReady brings a node back. */
  async nodeReady(node: string): Promise<void> {
    await this.#call('POST', `nodes/${encodeURIComponent(node)}/ready`);
  }

  /** wipePvc empties a claim's directory and returns its path. */
  async wipePvc(namespace: string, claim: string): Promise<string> {
    return (await this.#call<{ path: string }>('POST', `pvcs/${encodeURIComponent(namespace)}/${encodeURIComponent(claim)}/wipe`)).path;
  }

  /** pvcPath returns the directory holding a claim's data. */
  async pvcPath(namespace: string, claim: string): Promise<string> {
    return (await this.#call<{ path: string }>('GET', `pvcs/${encodeURIComponent(namespace)}/${encodeURIComponent(claim)}`)).path;
  }

  /** service returns a Service's cluster IP, ports and endpoints (how host-side tests reach it). */
  async service(namespace: string, name: string): Promise<ServiceInfo> {
    return this.#call<ServiceInfo>('GET', `services/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`);
  }

  /** resolve answers a cluster DNS name as a pod in `namespace` would see it. */
  async resolve(name: string, namespace = 'default'): Promise<string[]> {
    return (await this.#call<{ addresses: string[] }>('GET', 'dns', { name, namespace })).addresses;
  }

  /** compact drops the watch log, so watches from older resourceVersions get 410 Expired. */
  async compact(): Promise<number> {
    return (await this.#call<{ compactedRevision: number }>('POST', 'compact')).compactedRevision;
  }

  async info(): Promise<Record<string, unknown>> {
    return this.#call('GET', 'info');
  }
}
