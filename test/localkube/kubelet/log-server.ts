// Answers GET pods/NAME/log from the kubelet's log files: picks the container
// (required when the pod has several), the current or previous instance, and
// applies tailLines, sinceSeconds/sinceTime, timestamps, limitBytes and follow.
// It must never serve another pod's files.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, badRequest } from '../api/errors.ts';
import type { JsonObject, KubeObject } from '../store/object.ts';
import { followLog, readLog } from './logs.ts';
import type { LogQuery } from './logs.ts';
import type { PodWorker } from './pod-worker.ts';

function intParam(query: URLSearchParams, name: string): number | undefined {
  const v = query.get(name);
  if (v === null) return undefined;
  if (!/^\d+$/.test(v)) throw badRequest(`${name} must be a non-negative integer, got "${v}"`);
  return Number(v);
}

function waitingReason(pod: KubeObject, container: string): string {
  const all: JsonObject[] = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  return all.find((c) => c.name === container)?.state?.waiting?.reason ?? 'ContainerCreating';
}

/** servePodLog writes the log of one container of a pod. */
export async function servePodLog(req: IncomingMessage, res: ServerResponse, pod: KubeObject, query: URLSearchParams, worker: PodWorker | undefined): Promise<void> {
  const mains: string[] = (pod.spec?.containers ?? []).map((c: JsonObject) => c.name);
  const inits: string[] = (pod.spec?.initContainers ?? []).map((c: JsonObject) => c.name);
  let container = query.get('container') ?? '';
  if (!container) {
    const def = pod.metadata.annotations?.['kubectl.kubernetes.io/default-container'];
    if (def && mains.includes(def)) container = def;
    else if (mains.length === 1) container = mains[0];
    else throw badRequest(`a container name must be specified for pod ${pod.metadata.name}, choose one of: [${mains.join(' ')}]${inits.length ? ` or one of the init containers: [${inits.join(' ')}]` : ''}`);
  }
  if (!mains.includes(container) && !inits.includes(container)) throw badRequest(`container ${container} is not valid for pod ${pod.metadata.name}`);
  const previous = query.get('previous') === 'true';
  const entry = worker?.logFile(container, previous);
  if (!entry) {
    if (previous) throw badRequest(`previous terminated container "${container}" in pod "${pod.metadata.name}" not found`);
    throw badRequest(`container "${container}" in pod "${pod.metadata.name}" is waiting to start: ${waitingReason(pod, container)}`);
  }
  const sinceSeconds = intParam(query, 'sinceSeconds');
  const sinceTimeText = query.get('sinceTime');
  let sinceTime: number | undefined;
  if (sinceSeconds !== undefined) sinceTime = Date.now() - sinceSeconds * 1000;
  if (sinceTimeText) {
    sinceTime = Date.parse(sinceTimeText);
    if (Number.isNaN(sinceTime)) throw badRequest(`sinceTime must be an RFC 3339 time, got "${sinceTimeText}"`);
  }
  const q: LogQuery = {
    tailLines: intParam(query, 'tailLines'),
    sinceTime,
    timestamps: query.get('timestamps') === 'true',
    limitBytes: intParam(query, 'limitBytes'),
  };
  if (q.limitBytes === 0) throw new ApiError(422, 'Invalid', 'limitBytes: Invalid value: 0: must be greater than 0');
  const { text, offset } = readLog(entry.file, q);
  const follow = query.get('follow') === 'true';
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
  res.write(text);
  if (!follow) {
    res.end();
    return;
  }
  res.flushHeaders();
  let closed = false;
  req.on('close', () => (closed = true));
  res.on('close', () => (closed = true));
  const used = Buffer.byteLength(text);
  await followLog(
    entry.file,
    offset,
    { ...q, tailLines: undefined, limitBytes: q.limitBytes === undefined ? undefined : Math.max(0, q.limitBytes - used) },
    (t) => res.write(t),
    () => !entry.running(),
    () => closed,
  );
  if (!res.writableEnded) res.end();
}
