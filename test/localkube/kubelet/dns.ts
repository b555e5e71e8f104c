// Cluster DNS as hosts files: one generated file per pod, bind-mounted over
// /etc/hosts in the pod's containers, holding every Service name
// (<svc>.<ns>.svc.cluster.local, plus the short forms the pod's search path
// would allow: <svc>.<ns>.svc, <svc>.<ns> and <svc> in its own namespace), a
// headless Service's endpoint addresses and their <hostname>.<svc>... names,
// the <a-b-c-d>.<ns>.pod names, and the pod's own hostname (as the kubelet's
// managed /etc/hosts has it). Files are rewritten in place (same inode) so
// running processes see updates.
// It must never write outside its own directory.
import fs from 'node:fs';
import path from 'node:path';
import type { Store } from '../store/store.ts';
import type { JsonObject } from '../store/object.ts';

export const CLUSTER_DOMAIN = 'cluster.local';
const WATCHED = new Set(['/pods', '/services', '/endpoints', '/namespaces']);

interface DnsRecord {
  ip: string;
  /** fqdn is the fully qualified name. */
  fqdn: string;
  namespace: string;
  /** short names valid from inside the namespace. */
  local: string[];
  /** names valid from any namespace besides the fqdn. */
  global: string[];
}

export class ClusterDns {
  readonly #store: Store;
  readonly #dir: string;
  readonly #unsubscribe: () => void;
  readonly #written = new Map<string, string>();
  /** #files maps each pod's hosts file to its namespace and its own lines. */
  readonly #files = new Map<string, { namespace: string; own: string[] }>();
  #scheduled = false;
  #stopped = false;
  #records: DnsRecord[] = [];

  constructor(store: Store, dir: string) {
    this.#store = store;
    this.#dir = dir;
    fs.mkdirSync(dir, { recursive: true });
    this.#unsubscribe = store.subscribe((e) => {
      if (WATCHED.has(e.resource)) this.#schedule();
    });
    this.#refresh();
  }

  stop(): void {
    this.#stopped = true;
    this.#unsubscribe();
  }

  /** hostsFile returns (creating it) the hosts file of one pod. */
  hostsFile(pod: { namespace: string; name: string; uid: string; ip: string; hostname: string; subdomain?: string }): string {
    const file = path.join(this.#dir, `${pod.namespace}_${pod.name}_${pod.uid}.hosts`);
    const own = pod.subdomain
      ? `${pod.ip}\t${pod.hostname}.${pod.subdomain}.${pod.namespace}.svc.${CLUSTER_DOMAIN}\t${pod.hostname}`
      : `${pod.ip}\t${pod.hostname}`;
    this.#files.set(file, { namespace: pod.namespace, own: [own] });
    this.#write(file);
    return file;
  }

  /** release forgets a pod's hosts file and removes it. */
  release(file: string): void {
    this.#files.delete(file);
    this.#written.delete(file);
    fs.rmSync(file, { force: true });
  }

  /** resolve answers a name the way a pod in `namespace` would see it. */
  resolve(name: string, namespace = 'default'): string[] {
    const wanted = name.toLowerCase().replace(/\.$/, '');
    const ips = this.#records
      .filter((r) => r.fqdn === wanted || r.global.includes(wanted) || (r.namespace === namespace && r.local.includes(wanted)))
      .map((r) => r.ip);
    return [...new Set(ips)];
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      // A refresh scheduled just before stop() must not write into a data dir being removed.
      if (!this.#stopped) this.#refresh();
    });
  }

  #refresh(): void {
    this.#records = this.#compute();
    for (const file of this.#files.keys()) this.#write(file);
  }

  #compute(): DnsRecord[] {
    const out: DnsRecord[] = [];
    const store = this.#store;
    for (const svc of store.list('/services')) {
      const ns = svc.metadata.namespace!;
      const name = svc.metadata.name;
      const fqdn = `${name}.${ns}.svc.${CLUSTER_DOMAIN}`;
      const global = [`${name}.${ns}.svc`, `${name}.${ns}`];
      const ip = svc.spec?.clusterIP;
      if (svc.spec?.type === 'ExternalName') continue;
      if (ip && ip !== 'None') {
        out.push({ ip, fqdn, namespace: ns, local: [name], global });
        continue;
      }
      const ep = store.get('/endpoints', ns, name);
      for (const subset of (ep?.subsets ?? []) as JsonObject[]) {
        for (const a of (subset.addresses ?? []) as JsonObject[]) {
          out.push({ ip: a.ip, fqdn, namespace: ns, local: [name], global });
          if (a.hostname) {
            const host = `${a.hostname}.${name}`;
            out.push({ ip: a.ip, fqdn: `${host}.${ns}.svc.${CLUSTER_DOMAIN}`, namespace: ns, local: [host], global: [`${host}.${ns}.svc`, `${host}.${ns}`] });
          }
        }
      }
    }
    for (const pod of store.list('/pods')) {
      const ip = pod.status?.podIP;
      if (!ip || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') continue;
      const ns = pod.metadata.namespace!;
      out.push({ ip, fqdn: `${ip.replace(/\./g, '-')}.${ns}.pod.${CLUSTER_DOMAIN}`, namespace: ns, local: [], global: [] });
    }
    return out;
  }

  #write(file: string): void {
    const entry = this.#files.get(file);
    if (!entry) return;
    const namespace = entry.namespace;
    const lines = ['# Kubernetes-managed hosts file (generated by localkube).', '127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', ...entry.own];
    for (const r of this.#records) {
      const names = [r.fqdn, ...r.global, ...(r.namespace === namespace ? r.local : [])];
      lines.push(`${r.ip}\t${[...new Set(names)].join(' ')}`);
    }
    const text = `${lines.join('\n')}\n`;
    if (this.#written.get(file) === text) return;
    // Rewrite in place: the file is bind-mounted by inode into running pods.
    fs.writeFileSync(file, text);
    this.#written.set(file, text);
  }
}
