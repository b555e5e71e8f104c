// Service cluster IPs that work: for every Service with a cluster IP (a 127.x
// address from this localkube's block) a TCP listener on each service port
// forwards connections to a ready endpoint (round robin), like kube-proxy.
// Tests on the host reach a Service at its cluster IP directly. UDP is not proxied.
// It must never listen outside 127.0.0.0/8.
import net from 'node:net';
import type { Store } from '../store/store.ts';
import type { JsonObject } from '../store/object.ts';

interface Listener {
  server: net.Server;
  namespace: string;
  service: string;
  portName: string;
  next: number;
}

export class ServiceProxies {
  readonly #store: Store;
  readonly #listeners = new Map<string, Listener>();
  readonly #sockets = new Set<net.Socket>();
  readonly #unsubscribe: () => void;
  #scheduled = false;
  #stopped = false;

  constructor(store: Store) {
    this.#store = store;
    this.#unsubscribe = store.subscribe((e) => {
      if (e.resource === '/services') this.#schedule();
    });
    this.#reconcile();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#reconcile();
    });
  }

  #reconcile(): void {
    if (this.#stopped) return;
    const wanted = new Map<string, { namespace: string; service: string; portName: string; ip: string; port: number }>();
    for (const svc of this.#store.list('/services')) {
      const ip = svc.spec?.clusterIP;
      if (!ip || ip === 'None' || !ip.startsWith('127.') || svc.metadata.deletionTimestamp) continue;
      for (const p of (svc.spec?.ports ?? []) as JsonObject[]) {
        if ((p.protocol ?? 'TCP') !== 'TCP') continue;
        wanted.set(`${ip}:${p.port}`, { namespace: svc.metadata.namespace!, service: svc.metadata.name, portName: p.name ?? '', ip, port: p.port });
      }
    }
    for (const [key, l] of this.#listeners) {
      const w = wanted.get(key);
      if (!w || w.namespace !== l.namespace || w.service !== l.service || w.portName !== l.portName) {
        l.server.close();
        this.#listeners.delete(key);
      }
    }
    for (const [key, w] of wanted) {
      if (this.#listeners.has(key)) continue;
      const listener: Listener = { server: net.createServer((s) => this.#forward(listener, s)), namespace: w.namespace, service: w.service, portName: w.portName, next: 0 };
      listener.server.on('error', (err) => {
        process.emitWarning(`localkube: cannot serve ${w.namespace}/${w.service} on ${key}: ${err.message}`);
        this.#listeners.delete(key);
      });
      listener.server.listen(w.port, w.ip);
      this.#listeners.set(key, listener);
    }
  }

  /** endpoints lists a service port's ready backends as [ip, port]. */
  endpoints(namespace: string, service: string, portName: string): [string, number][] {
    const ep = this.#store.get('/endpoints', namespace, service);
    const out: [string, number][] = [];
    for (const subset of (ep?.subsets ?? []) as JsonObject[]) {
      const port = ((subset.ports ?? []) as JsonObject[]).find((p) => (p.name ?? '') === portName);
      if (!port) continue;
      for (const a of (subset.addresses ?? []) as JsonObject[]) out.push([a.ip, port.port]);
    }
    return out;
  }

  #forward(l: Listener, client: net.Socket): void {
    this.#sockets.add(client);
    client.on('close', () => this.#sockets.delete(client));
    client.on('error', () => client.destroy());
    const backends = this.endpoints(l.namespace, l.service, l.portName);
    if (backends.length === 0) {
      client.resetAndDestroy();
      return;
    }
    const [host, port] = backends[l.next++ % backends.length];
    const upstream = net.connect({ host, port });
    this.#sockets.add(upstream);
    upstream.on('close', () => this.#sockets.delete(upstream));
    upstream.on('error', () => {
      upstream.destroy();
      client.destroy();
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }

  stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe();
    for (const s of this.#sockets) s.destroy();
    const closing = [...this.#listeners.values()].map((l) => new Promise<void>((r) => l.server.close(() => r())));
    this.#listeners.clear();
    return Promise.all(closing).then(() => undefined);
  }
}
