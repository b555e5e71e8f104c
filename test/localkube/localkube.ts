// Starts and stops a whole local control plane in this process: store (with an
// optional state file), API server on 127.0.0.1, controllers (CRDs, namespaces,
// garbage collector, ...), and the kubeconfig file.
// It must never leave a process, port, lock or watch behind after stop().
import fs from 'node:fs';
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
import { CrdController } from './controllers/crds.ts';
import { NamespaceController } from './controllers/namespaces.ts';
import { GarbageCollector } from './controllers/gc.ts';
import { NetworkBlock } from './kubelet/network.ts';

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
  /** images are extra image map entries, "NAME=ARGV-JSON". */
  images?: string[];
}

export interface Localkube {
  /** url of the API server, e.g. http://127.0.0.1:41234. */
  url: string;
  kubeconfigPath: string;
  dataDir: string;
  api: Api;
  network: NetworkBlock;
  /** stop ends watches, controllers and the server, writes the state file and frees the address block. */
  stop(): Promise<void>;
}

interface Stoppable {
  stop(): void;
}

export async function startLocalkube(options: LocalkubeOptions = {}): Promise<Localkube> {
  const ownsDataDir = !options.dataDir;
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'localkube-'));
  fs.mkdirSync(dataDir, { recursive: true });
  const stoppers: Stoppable[] = [];
  let network: NetworkBlock | undefined;
  let apiServer: ApiServer | undefined;
  try {
    const store = new Store({ eventLogLimit: options.eventLogLimit });
    const state = options.stateFile ? loadState(options.stateFile) : undefined;
    if (state) store.restore(state.snapshot);
    network = NetworkBlock.acquire(typeof state?.extra.networkBlock === 'number' ? state.extra.networkBlock : undefined);
    const net = network;
    const kinds = builtinKinds({ allocate: () => net.services.allocate() });
    for (const svc of store.list('/services')) {
      const ip = svc.spec?.clusterIP;
      if (ip && ip !== 'None') net.services.claim(ip);
    }
    const api = new Api(store, kinds);
    const releaseServiceIPs = store.subscribe((e) => {
      const ip = e.object.spec?.clusterIP;
      if (e.type === 'DELETED' && e.resource === '/services' && ip && ip !== 'None') net.services.release(ip);
    });
    stoppers.push({ stop: releaseServiceIPs });
    if (options.stateFile) stoppers.push(new StatePersister(options.stateFile, store, () => ({ networkBlock: net.block })));
    stoppers.push(new CrdController(api));
    stoppers.push(new NamespaceController(api));
    stoppers.push(new GarbageCollector(api));

    apiServer = createApiServer({
      api,
      openapi: new OpenApiCache(kinds),
      log: options.requestLog,
      watch: options.bookmarkIntervalMs ? { bookmarkIntervalMs: options.bookmarkIntervalMs } : undefined,
    });
    const server = apiServer.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const port = (server.address() as AddressInfo).port;
    const url = `http://127.0.0.1:${port}`;
    const kubeconfigPath = options.kubeconfigPath ?? path.join(dataDir, 'kubeconfig');
    writeKubeconfig(kubeconfigPath, url);
    const running = apiServer;
    let stopped: Promise<void> | undefined;
    return {
      url,
      kubeconfigPath,
      dataDir,
      api,
      network: net,
      stop() {
        stopped ??= (async () => {
          running.hub.closeAll();
          await closeServer(running);
          for (const s of [...stoppers].reverse()) s.stop();
          net.release();
          if (ownsDataDir) fs.rmSync(dataDir, { recursive: true, force: true });
        })();
        return stopped;
      },
    };
  } catch (err) {
    apiServer?.hub.closeAll();
    if (apiServer?.server.listening) await closeServer(apiServer);
    for (const s of [...stoppers].reverse()) s.stop();
    network?.release();
    if (ownsDataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

function closeServer(api: ApiServer): Promise<void> {
  return new Promise((resolve) => {
    api.server.close(() => resolve());
    api.server.closeAllConnections();
  });
}
