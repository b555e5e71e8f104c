// The world of one operator end-to-end test file: a localkube control plane
// with a process kubelet (3 nodes by default, the `replicant` image mapped to
// this repository's bin/replicant.ts, with node's flags, as the Dockerfile's ENTRYPOINT), the CRD
// applied with the real kubectl, operator processes, and readers for what the
// tests assert on (groups, pods, volumes, Events, a group's client Service).
// Reads go straight to localkube's in-process store (cheap on a loaded
// machine); writes go through kubectl or the API, as a user's would.
// Must never leave a process behind: localkube stops its pods, operators are
// killed by PID in t.after.
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { CoreV1Event as V1Event, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import type { ReplicaGroup } from '../../../operator/api/index.ts';
import { kubectl, waitFor, withLocalkube, type Localkube } from '../../localkube/index.ts';
import { REPO_BIN, REPO_ROOT } from '../../localkube/kubelet/env.ts';
import { REPLICA_NODE_FLAGS } from '../../../replica/node-flags.ts';
import { OperatorProcess, type Cleanup, type OperatorFlags } from './operator-process.ts';

export const NAMESPACE = 'default';
const GROUP_RESOURCE = 'replicant.dev/replicagroups';

export interface EnvOptions {
  nodes?: number;
}

export class OperatorEnv {
  readonly lk: Localkube;
  private readonly t: Cleanup;
  readonly operators: OperatorProcess[] = [];

  private constructor(t: Cleanup, lk: Localkube) {
    this.t = t;
    this.lk = lk;
  }

  /** start brings up localkube and applies the CRD (no operator yet). */
  static async start(t: Cleanup, options: EnvOptions = {}): Promise<OperatorEnv> {
    const lk = await withLocalkube(t, {
      nodes: options.nodes ?? 3,
      imageMap: { replicant: { entrypoint: [path.join(REPO_BIN, 'node'), ...REPLICA_NODE_FLAGS, path.join(REPO_ROOT, 'bin', 'replicant.ts')], workingDir: REPO_ROOT } },
      // Short restart back-off so a crash loop shows within seconds, as it would after minutes on a real kubelet.
      crashLoopBackoff: { initialMs: 1000, maxMs: 4000 },
    });
    const env = new OperatorEnv(t, lk);
    await env.kubectl(['apply', '-f', path.join(REPO_ROOT, 'crds', 'replicagroups.replicant.dev.yaml')]);
    await waitFor('the ReplicaGroup kind to be served', () => !!lk.api.kinds.byApiVersionKind('replicant.dev/v1alpha1', 'ReplicaGroup'), 20_000);
    return env;
  }

  /** startOperator runs one operator process (not leader-elected unless asked). */
  startOperator(flags: Partial<OperatorFlags> = {}): OperatorProcess {
    const op = new OperatorProcess(this.t, { kubeconfig: this.lk.kubeconfigPath, ...flags });
    this.operators.push(op);
    return op;
  }

  /** kubectl runs the real kubectl and fails with its output unless it exits 0. */
  async kubectl(args: string[], input?: string): Promise<string> {
    const r = await kubectl(this.lk, args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
  }

  /** kubectlResult runs kubectl and returns its exit code and output (for commands expected to fail). */
  kubectlResult(args: string[], input?: string) {
    return kubectl(this.lk, args, input);
  }

  /** apply applies one object with `kubectl apply -f -`. */
  apply(obj: object): Promise<string> {
    return this.kubectl(['apply', '-f', '-'], JSON.stringify(obj));
  }

  group(name: string): ReplicaGroup | undefined {
    const g = this.lk.api.store.get(GROUP_RESOURCE, NAMESPACE, name);
    return g ? (structuredClone(g) as unknown as ReplicaGroup) : undefined;
  }

  /** pods are the group's pods (label replicant.dev/group), terminating ones included. */
  pods(group: string): V1Pod[] {
    return this.lk.api.store
      .list('/pods', NAMESPACE)
      .filter((p) => p.metadata.labels?.['replicant.dev/group'] === group)
      .map((p) => structuredClone(p) as unknown as V1Pod);
  }

  pod(name: string): V1Pod | undefined {
    const p = this.lk.api.store.get('/pods', NAMESPACE, name);
    return p ? (structuredClone(p) as unknown as V1Pod) : undefined;
  }

  pvcs(group: string): V1PersistentVolumeClaim[] {
    return this.lk.api.store
      .list('/persistentvolumeclaims', NAMESPACE)
      .filter((p) => p.metadata.labels?.['replicant.dev/group'] === group)
      .map((p) => structuredClone(p) as unknown as V1PersistentVolumeClaim);
  }

  /** objectsOf lists every namespaced object labelled with the group, by resource (to prove nothing was created). */
  objectsOf(group: string): string[] {
    const out: string[] = [];
    for (const resource of this.lk.api.store.resources()) {
      for (const o of this.lk.api.store.list(resource, NAMESPACE)) {
        const owned = (o.metadata.ownerReferences ?? []).some((r: { name?: string; kind?: string }) => r.kind === 'ReplicaGroup' && r.name === group);
        if (o.metadata.labels?.['replicant.dev/group'] === group || owned) out.push(`${resource}/${o.metadata.name}`);
      }
    }
    return out;
  }

  /** events are the core/v1 Events about a group, oldest first. */
  events(group: string): V1Event[] {
    return this.lk.api.store
      .list('/events', NAMESPACE)
      .filter((e) => e.involvedObject?.kind === 'ReplicaGroup' && e.involvedObject?.name === group)
      .map((e) => structuredClone(e) as unknown as V1Event)
      .sort((a, b) => Date.parse(String(a.firstTimestamp ?? 0)) - Date.parse(String(b.firstTimestamp ?? 0)) || Number(a.metadata?.resourceVersion) - Number(b.metadata?.resourceVersion));
  }

  /** eventLines renders a group's Events as "Type Reason: message" lines. */
  eventLines(group: string): string[] {
    return this.events(group).map((e) => `${e.type} ${e.reason}: ${e.message}`);
  }

  /** waitGroup polls the group until check returns a value; the failure message carries the last status and the operators' log tails. */
  async waitGroup<T>(name: string, what: string, check: (g: ReplicaGroup) => T | undefined | false | null, timeoutMs = 120_000): Promise<T> {
    try {
      return await waitFor(what, () => {
        const g = this.group(name);
        return g ? check(g) : undefined;
      }, timeoutMs, 200);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n${this.describe(name)}`);
    }
  }

  /** describe renders what a failing test needs to see: status, pods, Events, operator log tails. */
  describe(name: string): string {
    const g = this.group(name);
    const s = g?.status;
    const pods = this.pods(name).map((p) => `${p.metadata?.name} ${p.status?.phase} ready=${p.status?.conditions?.find((c) => c.type === 'Ready')?.status} node=${p.spec?.nodeName} ip=${p.status?.podIP}${p.metadata?.deletionTimestamp ? ' terminating' : ''}`);
    return [
      `--- group ${name}: phase=${s?.phase} replicas=${s?.replicas} leader=${s?.leader} ft=${JSON.stringify(s?.faultTolerance)} config=${JSON.stringify(s?.configuration)}`,
      `operation=${JSON.stringify(s?.operation)}`,
      `members=${JSON.stringify(s?.members)}`,
      `conditions=${JSON.stringify(s?.conditions?.map((c) => `${c.type}=${c.status} ${c.reason}: ${c.message}`))}`,
      `--- pods\n${pods.join('\n')}`,
      `--- events\n${this.eventLines(name).slice(-30).join('\n')}`,
      ...this.operators.map((o, i) => `--- operator ${i} (pid ${o.pid}${o.running ? '' : ', exited'})\n${o.tail(25)}`),
    ].join('\n');
  }

  /** clientEndpoint is the group's client Service address (cluster IP:2379), reachable from the host. */
  async clientEndpoint(group: string): Promise<string> {
    const svc = await waitFor('the client Service to have a cluster IP', async () => (await this.lk.hooks.service(NAMESPACE, `${group}-client`)).clusterIP, 30_000);
    return `${svc}:2379`;
  }

  /**
   * clientTls is how an application reaches a TLS group (through its client Service or a member's
   * IP): the application client Secret `<group>-app` that groupManifest asks for, the group CA, and
   * the client Service's name as the name the members' certificates carry. Undefined for a
   * plaintext group.
   */
  clientTls(group: string): { credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions } | undefined {
    const pems = this.appPems(group);
    if (!pems) return undefined;
    return {
      credentials: grpc.credentials.createSsl(Buffer.from(pems.ca), Buffer.from(pems.key), Buffer.from(pems.cert)),
      options: { 'grpc.ssl_target_name_override': `${group}-client.${NAMESPACE}.svc.cluster.local` },
    };
  }

  /** etcdctlTls writes the application Secret to files under `dir` and returns etcdctl's TLS flags and URL scheme. */
  etcdctlTls(group: string, dir: string): { scheme: string; flags: string[] } {
    const pems = this.appPems(group);
    if (!pems) return { scheme: 'http', flags: [] };
    fs.mkdirSync(dir, { recursive: true });
    const f = (n: string, text: string) => {
      const file = path.join(dir, `${group}-${n}`);
      fs.writeFileSync(file, text, { mode: 0o600 });
      return file;
    };
    return { scheme: 'https', flags: [`--cacert=${f('ca.crt', pems.ca)}`, `--cert=${f('tls.crt', pems.cert)}`, `--key=${f('tls.key', pems.key)}`] };
  }

  private appPems(group: string): { ca: string; cert: string; key: string } | undefined {
    const g = this.group(group);
    if (g?.spec?.tls?.enabled === false) return undefined;
    const d = this.lk.api.store.get('/secrets', NAMESPACE, `${group}-app`)?.data as Record<string, string> | undefined;
    if (!d) throw new Error(`group ${group} speaks TLS but its application Secret ${group}-app does not exist yet`);
    const text = (k: string) => Buffer.from(d[k] ?? '', 'base64').toString('utf8');
    return { ca: text('ca.crt'), cert: text('tls.crt'), key: text('tls.key') };
  }

  /** podIP of a member's pod, when it has one. */
  podIP(member: string): string | undefined {
    return this.pod(member)?.status?.podIP;
  }
}
