// Starts and stops a whole local control plane in this process: store (with an
// optional state file), API server on 127.0.0.1, controllers (CRDs, namespaces,
// garbage collector, deployments, replica sets, scheduler, endpoints, volumes,
// disruption budgets, node lifecycle), the process kubelet, the test hooks, the
// kubeconfig file, and an HTTPS port for pods' in-cluster clients.
// It must never leave a process, port, lock or watch behind after stop().
import fs from 'node:fs';
import https from 'node:https';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Store } from './store/store.ts';
import { loadState, StatePersister } from './store/persist.ts';
import { Api } from './api/rest.ts';
import { builtinKinds, OpenApiCache } from './kinds/index.ts';
import { createApiServer } from './server/http.ts';
import type { ApiServer } from './server/http.ts';
import { writeKubeconfig } from './server/kubeconfig.ts';
import { selfSignedCertificate } from './server/tls.ts';
import { CrdController } from './controllers/crds.ts';
import { NamespaceController } from './controllers/namespaces.ts';
import { GarbageCollector } from './controllers/gc.ts';
import { NetworkBlock } from './kubelet/network.ts';
import { EventRecorder } from './controllers/events.ts';
import { Scheduler } from './controllers/scheduler.ts';
import { EndpointsController } from './controllers/endpoints.ts';
import { VolumeController } from './controllers/volumes.ts';
import { DisruptionController } from './controllers/disruption.ts';
import { NodeLifecycle } from './controllers/node-lifecycle.ts';
import { ReplicaSetController } from './controllers/replicasets.ts';
import { DeploymentController } from './controllers/deployments.ts';
import { Kubelet } from './kubelet/kubelet.ts';
import { ImageMap, loadImageMapFile, parseImageEntry, parseImageFlag } from './kubelet/images.ts';
import type { ImageEntry } from './kubelet/images.ts';
import { DEFAULT_BACKOFF } from './kubelet/backoff.ts';
import type { BackoffSettings } from './kubelet/backoff.ts';
import { hookRoute } from './server/hooks.ts';
import { LocalkubeHooks } from './client/hooks-client.ts';

export interface LocalkubeOptions {
  /** port to listen on (0 picks a free one). */
  port?: number;
  /** kubeconfigPath is where the kubeconfig is written (default: DATA_DIR/kubeconfig). */
  kubeconfigPath?: string;
  /** stateFile keeps objects across restarts. */
  stateFile?: string;
  /** dataDir holds pod directories, logs and volumes (default: a new temp dir, removed on stop). */
  dataDir?: string;
  /** eventLogLimit bounds the watch replay log (older resourceVersions answer 410). */
  eventLogLimit?: number;
  /** requestLog receives one line per HTTP request. */
  requestLog?: (line: string) => void;
  /** bookmarkIntervalMs between watch BOOKMARKs (default 15 s). */
  bookmarkIntervalMs?: number;
  /** nodes is how many kubelet nodes run pods (default 1; 0 runs the API server alone). */
  nodes?: number;
  /** imageMapFile is a JSON image map (see README: image → ENTRYPOINT/CMD). */
  imageMapFile?: string;
  /** images are extra image map entries, "NAME=ARGV-JSON" (the --image flag). */
  images?: string[];
  /** imageMap maps images to local commands: an ARGV list (the ENTRYPOINT) or an entry. */
  imageMap?: Record<string, string[] | ImageEntry>;
  /** crashLoopBackoff tunes restart back-off (default 10 s doubling to 300 s; tests use less). */
  crashLoopBackoff?: Partial<BackoffSettings>;
}

export interface Localkube {
  /** url of the API server, e.g. http://127.0.0.1:41234. */
  url: string;
  /** httpsUrl is the same API over TLS, what pods use (KUBERNETES_SERVICE_HOST/PORT, service account token). */
  httpsUrl: string;
  /** caCert is the PEM CA that serves httpsUrl (each namespace's kube-root-ca.crt). */
  caCert: string;
  kubeconfigPath: string;
  dataDir: string;
  api: Api;
  network: NetworkBlock;
  /** hooks is a client of the /localkube/v1 test hooks. */
  hooks: LocalkubeHooks;
  /** kubelet runs the pods (undefined with nodes: 0). */
  kubelet?: Kubelet;
  /** openWatches counts the watch streams being served (tests wait for a client to be watching). */
  openWatches(): number;
  /** stop ends watches, controllers and the server, writes the state file and frees the address block. */
  stop(): Promise<void>;
}

interface Stoppable {
  stop(): void | Promise<void>;
}

function imageMapOf(options: LocalkubeOptions): ImageMap {
  const entries: Record<string, ImageEntry> = {};
  if (options.imageMapFile) Object.assign(entries, loadImageMapFile(options.imageMapFile));
  for (const [name, value] of Object.entries(options.imageMap ?? {})) entries[name] = parseImageEntry(name, value);
  for (const flag of options.images ?? []) {
    const [name, entry] = parseImageFlag(flag);
    entries[name] = entry;
  }
  return new ImageMap(entries);
}

export async function startLocalkube(options: LocalkubeOptions = {}): Promise<Localkube> {
  const ownsDataDir = !options.dataDir;
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'localkube-'));
  fs.mkdirSync(dataDir, { recursive: true });
  const stoppers: Stoppable[] = [];
  const images = imageMapOf(options);
  const nodeCount = options.nodes ?? 1;
  let network: NetworkBlock | undefined;
  let apiServer: ApiServer | undefined;
  let tlsServer: https.Server | undefined;
  try {
    // In-cluster access: an HTTPS port (its own CA) that pods reach with their
    // projected service account token. It listens first so pods started by the
    // kubelet (restored from a state file) already know its port.
    const tls = selfSignedCertificate({
      commonName: 'localkube',
      ips: ['127.0.0.1'],
      dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
    });
    let serve: http.RequestListener | undefined;
    tlsServer = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => serve!(req, res));
    const tlsPort = await listen(tlsServer);
    const store = new Store({ eventLogLimit: options.eventLogLimit });
    const state = options.stateFile ? loadState(options.stateFile) : undefined;
    if (state) store.restore(state.snapshot);
    network = NetworkBlock.acquire(typeof state?.extra.networkBlock === 'number' ? state.extra.networkBlock : undefined);
    const net = network;
    const kinds = builtinKinds({ allocate: () => net.services.allocate() });
    // Addresses restored from a state file stay taken.
    for (const svc of store.list('/services')) {
      const ip = svc.spec?.clusterIP;
      if (ip && ip !== 'None') net.services.claim(ip);
    }
    for (const pod of store.list('/pods')) {
      const ip = pod.status?.podIP;
      const done = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
      if (ip && !done && net.owns(ip)) net.pods.claim(ip);
    }
    const api = new Api(store, kinds);
    const releaseServiceIPs = store.subscribe((e) => {
      const ip = e.object.spec?.clusterIP;
      if (e.type === 'DELETED' && e.resource === '/services' && ip && ip !== 'None') net.services.release(ip);
    });
    stoppers.push({ stop: releaseServiceIPs });
    if (options.stateFile) stoppers.push(new StatePersister(options.stateFile, store, () => ({ networkBlock: net.block })));
    stoppers.push(new CrdController(api));
    stoppers.push(new NamespaceController(api, tls.cert));
    stoppers.push(new GarbageCollector(api));
    const recorder = new EventRecorder(api);
    stoppers.push(recorder);
    stoppers.push(new EndpointsController(api));
    stoppers.push(new DisruptionController(api));
    const volumes = new VolumeController(api, path.join(dataDir, 'volumes'));
    stoppers.push(volumes);
    stoppers.push(new ReplicaSetController(api, recorder));
    stoppers.push(new DeploymentController(api, recorder));
    stoppers.push(new Scheduler(api, recorder));
    const lifecycle = new NodeLifecycle(api, recorder);
    stoppers.push(lifecycle);
    let kubelet: Kubelet | undefined;
    if (nodeCount > 0) {
      kubelet = new Kubelet({
        api,
        dataDir,
        nodes: nodeCount,
        network: net,
        images,
        backoff: { ...DEFAULT_BACKOFF, ...options.crashLoopBackoff },
        recorder,
        claimDir: (ns, claim) => volumes.claimDir(ns, claim),
        apiServer: { host: '127.0.0.1', port: tlsPort },
      });
      stoppers.push(kubelet);
    }

    apiServer = createApiServer({
      api,
      openapi: new OpenApiCache(kinds),
      log: options.requestLog,
      watch: options.bookmarkIntervalMs ? { bookmarkIntervalMs: options.bookmarkIntervalMs } : undefined,
      podLogs: kubelet?.podLogs,
    });
    const running = kubelet;
    apiServer.addRoute(
      hookRoute({
        api,
        kubelet,
        volumes,
        lifecycle,
        info: () => ({
          networkBlock: `127.${net.block}.0.0/16`,
          sandbox: running?.sandbox,
          nodes: running?.nodes.map((n) => ({ name: n.name, ip: n.ip, ready: n.ready })) ?? [],
          dataDir,
          images: images.names(),
        }),
      }),
    );
    serve = apiServer.handler;
    const server = apiServer.server;
    const port = await listen(server, options.port ?? 0);
    const url = `http://127.0.0.1:${port}`;
    const kubeconfigPath = options.kubeconfigPath ?? path.join(dataDir, 'kubeconfig');
    writeKubeconfig(kubeconfigPath, url);
    const server_ = apiServer;
    const tls_ = tlsServer;
    let stopped: Promise<void> | undefined;
    return {
      url,
      httpsUrl: `https://127.0.0.1:${tlsPort}`,
      caCert: tls.cert,
      kubeconfigPath,
      dataDir,
      api,
      network: net,
      hooks: new LocalkubeHooks(url),
      kubelet,
      openWatches: () => server_.hub.size,
      stop() {
        stopped ??= (async () => {
          server_.hub.closeAll();
          await Promise.all([closeServer(server_.server), closeServer(tls_)]);
          for (const s of [...stoppers].reverse()) await s.stop();
          net.release();
          if (ownsDataDir) fs.rmSync(dataDir, { recursive: true, force: true });
        })();
        return stopped;
      },
    };
  } catch (err) {
    apiServer?.hub.closeAll();
    if (apiServer?.server.listening) await closeServer(apiServer.server);
    if (tlsServer?.listening) await closeServer(tlsServer);
    for (const s of [...stoppers].reverse()) await s.stop();
    network?.release();
    if (ownsDataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

function closeServer(server: http.Server | https.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** listen binds a server on 127.0.0.1 and resolves to its port. */
function listen(server: http.Server | https.Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
