// Watch streams: one JSON event per line ({"type","object"}) over a chunked
// 200 response. From resourceVersion unset/"0" the current objects come first
// as ADDED; from N every logged change after N is replayed, or a 410 Expired
// ERROR event is sent when the log no longer reaches back to N. Selectors apply
// to events (an object leaving the selection is DELETED for this watcher),
// BOOKMARKs are sent when asked for, and timeoutSeconds ends the stream.
// It must never write to the store.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Api } from '../api/rest.ts';
import { ApiError, badRequest, expired } from '../api/errors.ts';
import type { StoreEvent } from '../store/store.ts';
import type { KubeObject } from '../store/object.ts';
import type { ResourceType } from '../kinds/types.ts';
import { groupVersion, storeKey } from '../kinds/types.ts';
import { toTable } from '../kinds/table.ts';
import type { IncludeObject } from '../kinds/table.ts';
import { present } from '../api/present.ts';

export interface WatchRequest {
  type: ResourceType;
  version: string;
  /** namespace "" watches every namespace. */
  namespace: string;
  query: URLSearchParams;
  table: boolean;
  /** metadataOnly sends PartialObjectMetadata objects (client-go's metadata informers). */
  metadataOnly?: boolean;
}

export interface WatchSettings {
  /** bookmarkIntervalMs is how often a BOOKMARK is sent to watchers that allow them. */
  bookmarkIntervalMs: number;
  /** defaultTimeoutSeconds is the stream length when the client sets no timeoutSeconds. */
  defaultTimeoutSeconds: number;
}

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** WatchHub tracks open watch streams so the server can end them all on stop. */
export class WatchHub {
  readonly #open = new Set<() => void>();

  add(close: () => void): () => void {
    this.#open.add(close);
    return () => this.#open.delete(close);
  }

  /** closeAll ends every open stream (server shutdown or restart). */
  closeAll(): void {
    for (const close of [...this.#open]) close();
  }

  get size(): number {
    return this.#open.size;
  }
}

/** serveWatch validates the request (errors before any byte is written) and then streams events. */
export function serveWatch(req: IncomingMessage, res: ServerResponse, api: Api, hub: WatchHub, w: WatchRequest, settings: WatchSettings): void {
  const { type, version, namespace, query } = w;
  const selectors = api.selectorsFor(type, query.get('labelSelector') ?? '', query.get('fieldSelector') ?? '');
  const rvText = query.get('resourceVersion') ?? '';
  const sendInitial = query.get('sendInitialEvents') === 'true';
  const bookmarks = query.get('allowWatchBookmarks') === 'true';
  const timeoutText = query.get('timeoutSeconds');
  const timeoutSeconds = timeoutText === null ? settings.defaultTimeoutSeconds : Number(timeoutText);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds < 0) throw badRequest(`timeoutSeconds must be a non-negative number, got ${timeoutText}`);
  if (rvText !== '' && !/^\d+$/.test(rvText)) throw badRequest(`resourceVersion: Invalid value: "${rvText}": must be an integer`);
  const key = storeKey(type);
  const ns = type.namespaced && namespace ? namespace : undefined;
  const include: IncludeObject = (query.get('includeObject') as IncludeObject | null) ?? 'Metadata';
  let firstTableEvent = true;

  const render = (obj: KubeObject): unknown => {
    if (w.metadataOnly) return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
    const shown = present(obj, type, version);
    if (!w.table) return shown;
    const table = toTable(type, version, [shown], { includeObject: include, noHeaders: !firstTableEvent, now: api.clock() });
    firstTableEvent = false;
    return table;
  };
  const line = (eventType: EventType, object: unknown) => {
    res.write(`${JSON.stringify({ type: eventType, object })}\n`);
  };
  const matches = (obj: KubeObject | undefined) =>
    !!obj && (ns === undefined || obj.metadata.namespace === ns) && api.matches(type, obj, selectors.labels, selectors.fields);
  const bookmark = (initialEnd = false) => {
    const metadata: Record<string, unknown> = { resourceVersion: String(api.store.resourceVersion) };
    if (initialEnd) metadata.annotations = { 'k8s.io/initial-events-end': 'true' };
    line('BOOKMARK', { kind: type.kind, apiVersion: groupVersion(type.group, version), metadata });
  };
  const deliver = (e: StoreEvent) => {
    if (e.resource !== key) return;
    const now = matches(e.object);
    const before = e.type === 'MODIFIED' ? matches(e.previous) : false;
    if (e.type === 'ADDED' && now) line('ADDED', render(e.object));
    else if (e.type === 'DELETED' && matches(e.previous ?? e.object)) line('DELETED', render(e.object));
    else if (e.type === 'MODIFIED') {
      if (now && before) line('MODIFIED', render(e.object));
      else if (now) line('ADDED', render(e.object));
      else if (before) line('DELETED', render(e.object));
    }
  };

  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();

  // Everything below runs synchronously: no store change can slip between the
  // replay and the subscription.
  if (rvText === '' || rvText === '0' || sendInitial) {
    for (const obj of api.store.list(key, ns)) if (matches(obj)) line('ADDED', render(obj));
    if (sendInitial && bookmarks) bookmark(true);
  } else {
    const from = Number(rvText);
    const replay = api.store.eventsSince(from);
    if (replay === 'expired') {
      const err: ApiError = expired(`too old resource version: ${from} (${api.store.compactedRevision + 1})`);
      line('ERROR', err.toStatus());
      res.end();
      return;
    }
    for (const e of replay) deliver(e);
  }
  const unsubscribe = api.store.subscribe(deliver);
  const timers: NodeJS.Timeout[] = [];
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    unsubscribe();
    for (const t of timers) clearTimeout(t);
    untrack();
    if (!res.writableEnded) res.end();
  };
  const untrack = hub.add(close);
  if (bookmarks) {
    const t = setInterval(() => bookmark(), settings.bookmarkIntervalMs);
    t.unref();
    timers.push(t);
  }
  if (timeoutSeconds > 0) {
    const t = setTimeout(() => {
      if (bookmarks) bookmark();
      close();
    }, timeoutSeconds * 1000);
    t.unref();
    timers.push(t);
  }
  req.on('close', close);
  res.on('close', close);
  res.on('error', close);
}
