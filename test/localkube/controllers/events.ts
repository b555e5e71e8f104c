// Records core/v1 Events about objects, as client-go's event recorder does:
// repeated events (same object, type, reason, message, source) are aggregated
// into one Event whose count and lastTimestamp grow; events older than the TTL
// (1 h, like the API server's) are deleted.
// It must never fail the caller: recording is best effort.
import type { Api } from '../api/rest.ts';
import type { KubeObject } from '../store/object.ts';
import { nowTimestamp } from '../store/object.ts';

export interface EventSource {
  component: string;
  host?: string;
}

export class EventRecorder {
  readonly #api: Api;
  readonly #ttlMs: number;
  readonly #timer: NodeJS.Timeout;
  /** #recent maps an aggregation key to the event's namespace/name. */
  readonly #recent = new Map<string, { namespace: string; name: string }>();

  constructor(api: Api, ttlMs = 3600_000) {
    this.#api = api;
    this.#ttlMs = ttlMs;
    this.#timer = setInterval(() => this.#expire(), Math.min(60_000, ttlMs));
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** record writes (or aggregates) an event about obj. */
  record(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string, source: EventSource, fieldPath?: string): void {
    try {
      this.#record(obj, type, reason, message, source, fieldPath);
    } catch (err) {
      process.emitWarning(`localkube: could not record event ${reason} for ${obj.metadata.name}: ${(err as Error).message}`);
    }
  }

  #record(obj: KubeObject, type: string, reason: string, message: string, source: EventSource, fieldPath?: string): void {
    const api = this.#api;
    const events = api.kinds.byKind('', 'Event')!;
    const namespace = obj.metadata.namespace || 'default';
    const nsType = api.kinds.byKind('', 'Namespace')!;
    const ns = api.tryGet(nsType, '', namespace);
    if (!ns || ns.metadata.deletionTimestamp) return;
    const key = JSON.stringify([obj.metadata.uid, type, reason, message, source.component, source.host ?? '', fieldPath ?? '']);
    const now = nowTimestamp(api.clock);
    const known = this.#recent.get(key);
    if (known) {
      const updated = api.mutate(events, known.namespace, known.name, (e) => {
        e.count = (e.count ?? 1) + 1;
        e.lastTimestamp = now;
      });
      if (updated) return;
      this.#recent.delete(key);
    }
    const involvedObject: Record<string, unknown> = {
      kind: obj.kind,
      namespace: obj.metadata.namespace,
      name: obj.metadata.name,
      uid: obj.metadata.uid,
      apiVersion: obj.apiVersion,
      resourceVersion: obj.metadata.resourceVersion,
    };
    if (fieldPath) involvedObject.fieldPath = fieldPath;
    const name = `${obj.metadata.name}.${(BigInt(api.clock()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1_000_000))).toString(16)}`;
    const created = api.create(events, namespace, {
      metadata: { name, namespace },
      involvedObject,
      reason,
      message,
      source,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      type,
      eventTime: null,
      reportingComponent: source.component,
      reportingInstance: source.host ?? '',
    });
    this.#recent.set(key, { namespace, name: created.metadata.name });
  }

  #expire(): void {
    const api = this.#api;
    const events = api.kinds.byKind('', 'Event')!;
    const cutoff = api.clock() - this.#ttlMs;
    for (const e of api.store.list('/events')) {
      const last = Date.parse(e.lastTimestamp ?? e.metadata.creationTimestamp ?? '');
      if (Number.isFinite(last) && last < cutoff) {
        try {
          api.delete(events, e.metadata.namespace ?? '', e.metadata.name);
        } catch {
          // already gone
        }
      }
    }
    for (const [key, at] of this.#recent) if (!api.store.get('/events', at.namespace, at.name)) this.#recent.delete(key);
  }
}
