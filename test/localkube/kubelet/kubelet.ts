// The process kubelet: N nodes (node-1, node-2, ...) that run pods as local
// processes, with cluster DNS (hosts files), Service cluster IPs (TCP proxies)
// and container logs. It must never leave a process behind after stop().
import path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Api } from '../api/rest.ts';
import type { EventRecorder } from '../controllers/events.ts';
import type { KubeObject } from '../store/object.ts';
import type { BackoffSettings } from './backoff.ts';
import { ClusterDns } from './dns.ts';
import type { ImageMap } from './images.ts';
import { servePodLog } from './log-server.ts';
import type { NetworkBlock } from './network.ts';
import { NodeAgent } from './node-agent.ts';
import type { PodWorker } from './pod-worker.ts';
import { ServiceProxies } from './proxy.ts';
import { detectSandbox } from './sandbox.ts';

export interface KubeletOptions {
  api: Api;
  dataDir: string;
  nodes: number;
  network: NetworkBlock;
  images: ImageMap;
  backoff: BackoffSettings;
  recorder: EventRecorder;
  claimDir(namespace: string, claim: string): { dir: string } | { error: string };
  /** apiServer is the HTTPS address pods reach the API server at (in-cluster config). */
  apiServer?: { host: string; port: number };
}

export class Kubelet {
  readonly nodes: NodeAgent[] = [];
  readonly dns: ClusterDns;
  readonly proxies: ServiceProxies;
  readonly sandbox: ReturnType<typeof detectSandbox>;

  constructor(o: KubeletOptions) {
    this.sandbox = detectSandbox();
    this.dns = new ClusterDns(o.api.store, path.join(o.dataDir, 'dns'));
    this.proxies = new ServiceProxies(o.api.store);
    for (let i = 1; i <= o.nodes; i++) {
      this.nodes.push(
        new NodeAgent(o.api, `node-${i}`, o.network.nodeIP(i), `zone-${i}`, {
          api: o.api,
          podsDir: path.join(o.dataDir, 'pods'),
          claimDir: o.claimDir,
          images: o.images,
          sandbox: this.sandbox,
          network: o.network,
          dns: this.dns,
          recorder: o.recorder,
          backoff: o.backoff,
          apiServer: o.apiServer,
        }),
      );
    }
  }

  node(name: string): NodeAgent | undefined {
    return this.nodes.find((n) => n.name === name);
  }

  /** worker finds the pod worker running a pod, on whichever node. */
  worker(namespace: string, name: string): PodWorker | undefined {
    for (const n of this.nodes) {
      const w = n.worker(namespace, name);
      if (w) return w;
    }
    return undefined;
  }

  /** podLogs answers pods/log requests. */
  podLogs = (req: IncomingMessage, res: ServerResponse, pod: KubeObject, query: URLSearchParams): Promise<void> =>
    servePodLog(req, res, pod, query, this.worker(pod.metadata.namespace!, pod.metadata.name));

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
    await this.proxies.stop();
    this.dns.stop();
  }
}
