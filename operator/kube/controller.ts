// The reconcile loop: informers on ReplicaGroups and their pods feed a work
// queue; each pass observes one group, asks the pure planner what to do,
// writes status first, emits Events, then carries out at most one action and
// requeues. Level-triggered and idempotent: a pass can run any number of times.
// Must never act before the status describing the action is written.
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { GROUP, MEMBER_HEALTHS, PLURAL, VERSION, type ReplicaGroup } from '../api/index.ts';
import { APP_NAME, LABEL_GROUP, LABEL_NAME, plan, type ActionFailure, type PlannerOptions } from '../reconcile/index.ts';
import { describeError, httpStatus, type KubeClients } from './client.ts';
import { execute } from './execute.ts';
import { observe } from './observe.ts';
import { EventRecorder } from './recorder.ts';
import { ReplicaAdmin } from './replica-admin.ts';
import { WorkQueue } from './work-queue.ts';
import type { OperatorMetrics } from '../metrics.ts';

export interface ControllerOptions {
  kube: KubeClients;
  log: Logger;
  metrics: OperatorMetrics;
  /** namespace to watch; undefined watches all namespaces. */
  namespace?: string;
  planner?: Partial<PlannerOptions>;
  identity: string;
  workers?: number;
  resyncMs?: number;
}

export class Controller {
  private readonly o: ControllerOptions;
  private readonly queue: WorkQueue;
  private readonly admin = new ReplicaAdmin();
  private readonly recorder: EventRecorder;
  private readonly failures = new Map<string, ActionFailure[]>();
  private readonly informers: k8s.Informer<k8s.KubernetesObject>[] = [];
  private resync: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly clusterDomain: string;

  constructor(o: ControllerOptions) {
    this.o = o;
    this.clusterDomain = o.planner?.clusterDomain ?? 'cluster.local';
    this.queue = new WorkQueue({ workers: o.workers ?? 4, baseDelayMs: 200, maxDelayMs: 60_000 });
    this.recorder = new EventRecorder(o.kube, 'replicant-operator', o.identity);
  }

  async start(): Promise<void> {
    const { kube, namespace } = this.o;
    const rgPath = namespace ? `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}` : `/apis/${GROUP}/${VERSION}/${PLURAL}`;
    const rgList = () =>
      (namespace
        ? kube.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL })
        : kube.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })) as Promise<k8s.KubernetesListObject<k8s.KubernetesObject>>;
    this.watch(rgPath, rgList, undefined, (obj) => this.enqueue(obj.metadata?.namespace, obj.metadata?.name));
    const podSelector = `${LABEL_NAME}=${APP_NAME}`;
    const podPath = namespace ? `/api/v1/namespaces/${namespace}/pods` : '/api/v1/pods';
    const podList = () =>
      (namespace ? kube.core.listNamespacedPod({ namespace, labelSelector: podSelector }) : kube.core.listPodForAllNamespaces({ labelSelector: podSelector })) as Promise<
        k8s.KubernetesListObject<k8s.KubernetesObject>
      >;
    this.watch(podPath, podList, podSelector, (obj) => this.enqueue(obj.metadata?.namespace, obj.metadata?.labels?.[LABEL_GROUP]));
    this.queue.run(
      (key) => this.reconcile(key),
      (key, err, retryMs) => this.o.log.warn({ group: key, err: describeError(err), retryMs }, 'reconcile failed'),
    );
    // Periodic resync: members are polled even when nothing in the API changes.
    this.resync = setInterval(() => void this.resyncAll(), this.o.resyncMs ?? 30_000);
    await this.resyncAll();
  }

  private enqueue(ns: string | undefined, name: string | undefined): void {
    if (ns && name) this.queue.add(`${ns}/${name}`);
  }

  /** watch runs an informer and restarts it after an error (client-node's informers stop on error). */
  private watch(path: string, list: () => Promise<k8s.KubernetesListObject<k8s.KubernetesObject>>, labelSelector: string | undefined, on: (o: k8s.KubernetesObject) => void): void {
    const inf = k8s.makeInformer(this.o.kube.kc, path, list, labelSelector);
    inf.on('add', on);
    inf.on('update', on);
    inf.on('delete', on);
    inf.on('error', (err: unknown) => {
      if (this.stopped) return;
      this.o.log.warn({ path, err: describeError(err) }, 'watch failed; restarting');
      setTimeout(() => {
        if (!this.stopped) void inf.start().catch(() => undefined);
      }, 2000);
    });
    this.informers.push(inf);
    void inf.start().catch((err: unknown) => this.o.log.warn({ path, err: describeError(err) }, 'watch could not start; retrying'));
  }

  private async resyncAll(): Promise<void> {
    const { kube, namespace } = this.o;
    try {
      const list = (await (namespace
        ? kube.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: PLURAL })
        : kube.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL }))) as { items: ReplicaGroup[] };
      for (const g of list.items) this.enqueue(g.metadata?.namespace, g.metadata?.name);
    } catch (err) {
      this.o.log.warn({ err: describeError(err) }, 'cannot list ReplicaGroups');
    }
    this.admin.prune();
  }

  /** reconcile is one pass for namespace/name; returns when to look again. */
  async reconcile(key: string): Promise<number | undefined> {
    const [namespace, name] = key.split('/');
    const log = this.o.log.child({ namespace, group: name });
    const m = this.o.metrics;
    const started = performance.now();
    const failures = (this.failures.get(key) ?? []).filter((f) => Date.now() - f.at < 10 * 60_000);
    let observed;
    try {
      observed = await observe(this.o.kube, this.admin, namespace, name, failures, Date.now, this.clusterDomain, !!this.o.planner?.networkPolicies);
    } catch (err) {
      m.reconcileErrors.inc({ namespace, group: name });
      m.reconciles.inc({ namespace, group: name, result: 'error' });
      throw err;
    }
    if (!observed) {
      this.failures.delete(key);
      for (const h of MEMBER_HEALTHS) m.members.remove({ namespace, group: name, health: h });
      for (const kind of ['desired', 'current']) m.faultTolerance.remove({ namespace, group: name, kind });
      m.quorate.remove({ namespace, group: name });
      m.reconfiguring.remove({ namespace, group: name });
      return undefined;
    }
    const p = plan(observed, this.o.planner);
    const group = observed.group;
    // 1. status first: what we are about to do is recorded before we do it.
    if (JSON.stringify(p.status) !== JSON.stringify(group.status ?? {})) {
      try {
        const updated = (await this.o.kube.custom.patchNamespacedCustomObjectStatus({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: PLURAL,
          name,
          // Guarded by the resourceVersion we planned from: if the group changed
          // meanwhile (or another operator wrote), nothing is done this pass.
          body: [
            { op: 'test', path: '/metadata/resourceVersion', value: group.metadata?.resourceVersion },
            { op: 'add', path: '/status', value: p.status },
          ],
        })) as ReplicaGroup;
        group.metadata = updated.metadata ?? group.metadata;
      } catch (err) {
        const code = httpStatus(err);
        if (code === 404) return undefined;
        if (code === 409 || code === 422) {
          log.debug('group changed while planning; looking again');
          return 0;
        }
        m.reconcileErrors.inc({ namespace, group: name });
        throw err;
      }
    }
    // 2. events
    for (const e of p.events) await this.recorder.emit(group, e, (err) => log.debug({ err: describeError(err) }, 'event not recorded'));
    this.observeMetrics(namespace, name, p.status);
    // 3. at most one action
    let result = 'noop';
    if (p.action) {
      const a = p.action;
      log.info({ step: p.step, action: a.kind, key: a.key }, a.description);
      if (a.kind === 'ChangeMembership') m.reconfigurations.inc({ namespace, group: name, reason: p.step });
      try {
        await execute(this.o.kube, this.admin, group, observed, a, this.clusterDomain);
        result = 'acted';
        this.failures.set(key, failures.filter((f) => f.key !== a.key));
      } catch (err) {
        const message = describeError(err);
        log.warn({ action: a.kind, key: a.key, err: message }, 'action failed');
        this.failures.set(key, [...failures.filter((f) => f.key !== a.key), { key: a.key, message, at: Date.now() }]);
        m.reconcileErrors.inc({ namespace, group: name });
        result = 'action-failed';
      }
    }
    m.reconciles.inc({ namespace, group: name, result });
    m.reconcileSeconds.observe({ namespace, group: name }, (performance.now() - started) / 1000);
    // After an action look again soon; otherwise at the planner's pace.
    return p.action ? Math.min(p.requeueAfterMs, 1000) : p.requeueAfterMs;
  }

  private observeMetrics(namespace: string, group: string, status: ReplicaGroup['status']): void {
    const m = this.o.metrics;
    if (!status) return;
    const byHealth = new Map<string, number>();
    for (const mem of status.members ?? []) byHealth.set(mem.health ?? 'Unknown', (byHealth.get(mem.health ?? 'Unknown') ?? 0) + 1);
    for (const h of new Set([...MEMBER_HEALTHS, ...byHealth.keys()])) {
      m.members.set({ namespace, group, health: h }, byHealth.get(h) ?? 0);
    }
    if (status.faultTolerance) {
      m.faultTolerance.set({ namespace, group, kind: 'desired' }, status.faultTolerance.desired ?? 0);
      m.faultTolerance.set({ namespace, group, kind: 'current' }, status.faultTolerance.current ?? 0);
    }
    const cond = (t: string) => status.conditions?.find((c) => c.type === t)?.status === 'True';
    m.quorate.set({ namespace, group }, cond('Quorate') ? 1 : 0);
    // Seconds since the in-flight operation started (kept in status, so it survives operator restarts).
    const startedAt = status.operation?.startedAt ? Date.parse(status.operation.startedAt) : NaN;
    m.reconfiguring.set({ namespace, group }, Number.isFinite(startedAt) ? Math.max(1, (Date.now() - startedAt) / 1000) : cond('Reconfiguring') ? 1 : 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.resync);
    for (const inf of this.informers) await inf.stop();
    await this.queue.stop();
    this.admin.close();
  }
}
