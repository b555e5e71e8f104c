// One node of the process kubelet: registers the Node (labels, addresses,
// capacity, Ready condition), renews its Lease in kube-node-lease, and runs a
// pod worker for every pod bound to it. A node can be taken away (NotReady: the
// kubelet stops reporting, optionally killing every process as a crash would)
// and brought back.
// It must never act on pods bound to another node.
import os from 'node:os';
import fs from 'node:fs';
import type { Api } from '../api/rest.ts';
import type { KubeObject } from '../store/object.ts';
import { microTimestamp, nowTimestamp } from '../store/object.ts';
import { PodWorker } from './pod-worker.ts';
import type { WorkerDeps } from './pod-worker.ts';

export const KUBELET_VERSION = 'v1.32.0-localkube';

function osImage(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(fs.readFileSync('/etc/os-release', 'utf8'));
    if (m) return m[1];
  } catch {
    // fall through
  }
  return `${os.type()} ${os.release()}`;
}

export type NodeDeps = Omit<WorkerDeps, 'nodeName' | 'hostIP' | 'frozen' | 'onDone'>;

export class NodeAgent {
  readonly name: string;
  readonly ip: string;
  readonly #api: Api;
  readonly #deps: NodeDeps;
  readonly #workers = new Map<string, PodWorker>();
  readonly #unsubscribe: () => void;
  readonly #timers: NodeJS.Timeout[] = [];
  #ready = true;
  #stopped = false;

  constructor(api: Api, name: string, ip: string, zone: string, deps: NodeDeps) {
    this.#api = api;
    this.name = name;
    this.ip = ip;
    this.#deps = deps;
    this.#register(zone);
    this.#unsubscribe = api.store.subscribe((e) => {
      // A changed Secret or ConfigMap reaches the files of running pods that mount it (as a
      // kubelet's periodic volume sync does, only sooner).
      if ((e.resource === '/secrets' || e.resource === '/configmaps') && e.type !== 'DELETED') {
        const ns = e.object.metadata.namespace;
        for (const w of this.#workers.values()) {
          if (w.namespace !== ns) continue;
          try {
            w.refreshVolumes();
          } catch (err) {
            process.emitWarning(`localkube kubelet: pod ${w.namespace}/${w.name}: volume refresh: ${(err as Error).message}`);
          }
        }
        return;
      }
      if (e.resource !== '/pods' || e.object.spec?.nodeName !== name) return;
      // A deleted pod needs no new worker: only a running one must stop.
      if (e.type === 'DELETED') this.#workers.get(e.object.metadata.uid!)?.scheduleSync();
      else this.#workerFor(e.object)?.scheduleSync();
    });
    // Pods restored from a state file get a fresh status before anyone can read the stale one.
    for (const pod of api.store.list('/pods')) if (pod.spec?.nodeName === name) this.#workerFor(pod)?.sync();
    const lease = setInterval(() => this.#renewLease(), 10_000);
    const heartbeat = setInterval(() => this.#heartbeat(), 40_000);
    lease.unref();
    heartbeat.unref();
    this.#timers.push(lease, heartbeat);
    this.#renewLease();
  }

  get ready(): boolean {
    return this.#ready;
  }

  #workerFor(pod: KubeObject): PodWorker | undefined {
    const uid = pod.metadata.uid!;
    let w = this.#workers.get(uid);
    if (w || this.#stopped) return w;
    // A pod that finished (before a restart of localkube) has nothing left to run.
    if (!pod.metadata.deletionTimestamp && (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed')) return undefined;
    w = new PodWorker(pod, {
      ...this.#deps,
      nodeName: this.name,
      hostIP: this.ip,
      frozen: () => !this.#ready,
      onDone: (id) => this.#workers.delete(id),
    });
    this.#workers.set(uid, w);
    return w;
  }

  /** worker finds the worker of a pod on this node. */
  worker(namespace: string, name: string): PodWorker | undefined {
    for (const w of this.#workers.values()) if (w.namespace === namespace && w.name === name && !w.finished) return w;
    return undefined;
  }

  #register(zone: string): void {
    const api = this.#api;
    const nodes = api.kinds.byKind('', 'Node')!;
    const now = nowTimestamp(api.clock);
    const labels = {
      'kubernetes.io/hostname': this.name,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch,
      'beta.kubernetes.io/os': 'linux',
      'beta.kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch,
      'topology.kubernetes.io/zone': zone,
      'topology.kubernetes.io/region': 'localkube',
    };
    if (!api.tryGet(nodes, '', this.name)) {
      api.create(nodes, '', { metadata: { name: this.name, labels, annotations: { 'node.alpha.kubernetes.io/ttl': '0' } }, spec: {} });
    }
    const capacity = {
      cpu: String(os.cpus().length),
      memory: `${Math.floor(os.totalmem() / 1024)}Ki`,
      pods: '110',
      'ephemeral-storage': '100Gi',
    };
    api.mutate(nodes, '', this.name, (n) => {
      n.status = {
        capacity,
        allocatable: capacity,
        conditions: this.#conditions(true, now, n.status?.conditions ?? []),
        addresses: [
          { type: 'InternalIP', address: this.ip },
          { type: 'Hostname', address: this.name },
        ],
        daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
        nodeInfo: {
          machineID: this.name,
          systemUUID: this.name,
          bootID: `${process.pid}`,
          kernelVersion: os.release(),
          osImage: osImage(),
          containerRuntimeVersion: 'localkube://0.1.0',
          kubeletVersion: KUBELET_VERSION,
          kubeProxyVersion: KUBELET_VERSION,
          operatingSystem: 'linux',
          architecture: process.arch === 'x64' ? 'amd64' : process.arch,
        },
        images: [],
      };
    }, 'status');
  }

  #conditions(ready: boolean, now: string, old: { type: string; status: string; lastTransitionTime?: string }[]) {
    const since = (type: string, status: string) => {
      const o = old.find((c) => c.type === type);
      return o && o.status === status ? o.lastTransitionTime : now;
    };
    const pressure = (type: string, reason: string, message: string) => ({ type, status: 'False', lastHeartbeatTime: now, lastTransitionTime: since(type, 'False'), reason, message });
    return [
      pressure('MemoryPressure', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      pressure('DiskPressure', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      pressure('PIDPressure', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      {
        type: 'Ready',
        status: ready ? 'True' : 'False',
        lastHeartbeatTime: now,
        lastTransitionTime: since('Ready', ready ? 'True' : 'False'),
        reason: ready ? 'KubeletReady' : 'KubeletNotReady',
        message: ready ? 'kubelet is posting ready status' : 'kubelet is not ready',
      },
    ];
  }

  #heartbeat(): void {
    if (!this.#ready || this.#stopped) return;
    const api = this.#api;
    api.mutate(api.kinds.byKind('', 'Node')!, '', this.name, (n) => {
      n.status.conditions = this.#conditions(true, nowTimestamp(api.clock), n.status?.conditions ?? []);
    }, 'status');
  }

  #renewLease(): void {
    if (!this.#ready || this.#stopped) return;
    const api = this.#api;
    const leases = api.kinds.byKind('coordination.k8s.io', 'Lease')!;
    const now = microTimestamp(api.clock);
    const node = api.store.get('/nodes', undefined, this.name);
    const spec = { holderIdentity: this.name, leaseDurationSeconds: 40, renewTime: now };
    if (!api.tryGet(leases, 'kube-node-lease', this.name)) {
      api.create(leases, 'kube-node-lease', {
        metadata: {
          name: this.name,
          ownerReferences: node ? [{ apiVersion: 'v1', kind: 'Node', name: this.name, uid: node.metadata.uid }] : undefined,
        },
        spec,
      });
    } else {
      api.mutate(leases, 'kube-node-lease', this.name, (l) => {
        l.spec = { ...l.spec, ...spec };
      });
    }
  }

  /** setReady takes the node away (false) or brings it back (true); kill also kills every process on it. */
  setReady(ready: boolean, kill = false): void {
    if (!ready && kill) for (const w of this.#workers.values()) w.killAll();
    if (ready === this.#ready) return;
    this.#ready = ready;
    for (const w of this.#workers.values()) {
      if (ready) w.resume();
      else w.setFrozen(true);
    }
    if (ready) {
      this.#heartbeat();
      this.#renewLease();
      for (const pod of this.#api.store.list('/pods')) if (pod.spec?.nodeName === this.name) this.#workerFor(pod)?.scheduleSync();
    }
  }

  /** stop kills every pod process on this node (localkube stops); the pods' objects stay. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe();
    for (const t of this.#timers) clearInterval(t);
    await Promise.all([...this.#workers.values()].map((w) => w.stop()));
    this.#workers.clear();
  }
}
