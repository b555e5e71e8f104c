// Container probes (httpGet, tcpSocket, exec, grpc) and the prober that runs a
// container's startup, liveness and readiness probes on their schedules
// (initialDelaySeconds, periodSeconds, timeoutSeconds, successThreshold,
// failureThreshold) and reports transitions, with the real kubelet's messages.
// It must never restart or kill a container itself: it reports, the pod worker acts.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { JsonObject } from '../store/object.ts';

export interface ProbeResult {
  ok: boolean;
  message: string;
}

export interface ProbeTarget {
  podIP: string;
  /** ports of the container, to resolve named ports. */
  ports: JsonObject[];
  /** exec runs a command in the container's sandbox. */
  exec(argv: string[], timeoutMs: number): Promise<{ exitCode: number; output: string }>;
}

function resolvePort(port: unknown, ports: JsonObject[]): number | undefined {
  if (typeof port === 'number') return port;
  if (typeof port === 'string' && /^\d+$/.test(port)) return Number(port);
  return ports.find((p) => p.name === port)?.containerPort;
}

function httpProbe(spec: JsonObject, target: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  const port = resolvePort(spec.port, target.ports);
  const host = spec.host || target.podIP;
  const scheme = String(spec.scheme ?? 'HTTP').toLowerCase();
  const url = `${scheme}://${host}:${port}${spec.path ?? '/'}`;
  if (port === undefined) return Promise.resolve({ ok: false, message: `unknown port ${spec.port}` });
  return new Promise((resolve) => {
    const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.32', Accept: '*/*' };
    for (const h of spec.httpHeaders ?? []) headers[h.name] = h.value;
    const mod = scheme === 'https' ? https : http;
    const req = mod.request(url, { method: 'GET', headers, timeout: timeoutMs, rejectUnauthorized: false, agent: false }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve(code >= 200 && code < 400 ? { ok: true, message: '' } : { ok: false, message: `HTTP probe failed with statuscode: ${code}` });
    });
    req.on('timeout', () => {
      req.destroy();
      resolve({ ok: false, message: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` });
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, message: `Get "${url}": ${dialMessage(host, port, err)}` }));
    req.end();
  });
}

function dialMessage(host: string, port: number, err: NodeJS.ErrnoException): string {
  if (err.code === 'ECONNREFUSED') return `dial tcp ${host}:${port}: connect: connection refused`;
  if (err.code === 'ECONNRESET') return 'read: connection reset by peer';
  return `dial tcp ${host}:${port}: ${err.message}`;
}

function tcpProbe(spec: JsonObject, target: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  const port = resolvePort(spec.port, target.ports);
  const host = spec.host || target.podIP;
  if (port === undefined) return Promise.resolve({ ok: false, message: `unknown port ${spec.port}` });
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ ok: true, message: '' });
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` });
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, message: dialMessage(host, port, err) }));
  });
}

/** encodeHealthRequest encodes grpc.health.v1.HealthCheckRequest{service}. */
function encodeHealthRequest(service: string): Buffer {
  const s = Buffer.from(service, 'utf8');
  return s.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a, s.length]), s]);
}

/** decodeHealthStatus reads HealthCheckResponse.status (field 1, varint); 1 is SERVING. */
function decodeHealthStatus(buf: Buffer): number {
  for (let i = 0; i < buf.length; ) {
    const tag = buf[i++];
    if (tag === 0x08) return buf[i];
    break;
  }
  return 0;
}

function grpcProbe(spec: JsonObject, target: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  const address = `${target.podIP}:${spec.port}`;
  return new Promise((resolve) => {
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      (req: string) => encodeHealthRequest(req),
      (buf: Buffer) => decodeHealthStatus(buf),
      String(spec.service ?? ''),
      new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs },
      (err, status) => {
        client.close();
        if (err) resolve({ ok: false, message: `timeout: failed to connect service "${address}" within ${timeoutMs / 1000}s: ${err.details ?? err.message}` });
        else if (status === 1) resolve({ ok: true, message: '' });
        else resolve({ ok: false, message: `service unhealthy (responded with "${['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'][status ?? 0] ?? status}")` });
      },
    );
  });
}

async function execProbe(spec: JsonObject, target: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  const argv: string[] = spec.command ?? [];
  if (argv.length === 0) return { ok: false, message: 'exec probe has no command' };
  const { exitCode, output } = await target.exec(argv, timeoutMs);
  if (exitCode === -1) return { ok: false, message: `command "${argv.join(' ')}" timed out` };
  return exitCode === 0 ? { ok: true, message: '' } : { ok: false, message: output.trim() || `command "${argv.join(' ')}" exited with ${exitCode}` };
}

/** runProbe performs one probe attempt. */
export function runProbe(probe: JsonObject, target: ProbeTarget): Promise<ProbeResult> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.httpGet) return httpProbe(probe.httpGet, target, timeoutMs);
  if (probe.tcpSocket) return tcpProbe(probe.tcpSocket, target, timeoutMs);
  if (probe.exec) return execProbe(probe.exec, target, timeoutMs);
  if (probe.grpc) return grpcProbe(probe.grpc, target, timeoutMs);
  return Promise.resolve({ ok: false, message: 'probe has no handler (httpGet, tcpSocket, exec or grpc)' });
}

export type ProbeKind = 'Startup' | 'Liveness' | 'Readiness';

export interface ProberEvents {
  /** started: the startup probe succeeded (or there is none). */
  started(): void;
  ready(ready: boolean): void;
  /** unhealthy: one failed attempt (the pod worker records the Unhealthy event). */
  unhealthy(kind: ProbeKind, message: string): void;
  /** failed: a startup or liveness probe reached its failure threshold: the container must be restarted. */
  failed(kind: 'Startup' | 'Liveness', message: string): void;
}

interface Loop {
  timer?: NodeJS.Timeout;
  successes: number;
  failures: number;
}

/** ContainerProber runs one container instance's probes until stop(). */
export class ContainerProber {
  readonly #container: JsonObject;
  readonly #target: ProbeTarget;
  readonly #events: ProberEvents;
  readonly #loops = new Map<ProbeKind, Loop>();
  #stopped = false;
  #paused = false;
  #ready = false;

  constructor(container: JsonObject, target: ProbeTarget, events: ProberEvents) {
    this.#container = container;
    this.#target = target;
    this.#events = events;
  }

  start(): void {
    const c = this.#container;
    if (c.startupProbe) this.#schedule('Startup', c.startupProbe, true);
    else this.#afterStartup();
  }

  /** pause stops reporting (node NotReady: the kubelet is away); resume continues. */
  setPaused(paused: boolean): void {
    this.#paused = paused;
  }

  stop(): void {
    this.#stopped = true;
    for (const l of this.#loops.values()) clearTimeout(l.timer);
  }

  #afterStartup(): void {
    this.#events.started();
    const c = this.#container;
    if (c.livenessProbe) this.#schedule('Liveness', c.livenessProbe, true);
    if (c.readinessProbe) this.#schedule('Readiness', c.readinessProbe, true);
    else this.#setReady(true);
  }

  #setReady(ready: boolean): void {
    if (ready === this.#ready) return;
    this.#ready = ready;
    this.#events.ready(ready);
  }

  #schedule(kind: ProbeKind, probe: JsonObject, first: boolean): void {
    if (this.#stopped) return;
    const loop = this.#loops.get(kind) ?? { successes: 0, failures: 0 };
    this.#loops.set(kind, loop);
    const delay = first ? (probe.initialDelaySeconds ?? 0) * 1000 : (probe.periodSeconds ?? 10) * 1000;
    loop.timer = setTimeout(() => void this.#attempt(kind, probe, loop), delay);
    loop.timer.unref();
  }

  async #attempt(kind: ProbeKind, probe: JsonObject, loop: Loop): Promise<void> {
    if (this.#stopped) return;
    const result = this.#paused ? undefined : await runProbe(probe, this.#target);
    if (this.#stopped) return;
    if (result) {
      if (result.ok) {
        loop.failures = 0;
        loop.successes++;
      } else {
        loop.successes = 0;
        loop.failures++;
        this.#events.unhealthy(kind, result.message);
      }
      const successThreshold = kind === 'Readiness' ? (probe.successThreshold ?? 1) : 1;
      const failureThreshold = probe.failureThreshold ?? 3;
      if (kind === 'Startup') {
        if (loop.successes >= 1) {
          this.#afterStartup();
          return; // the startup probe stops once it succeeded
        }
        if (loop.failures >= failureThreshold) {
          this.#events.failed('Startup', result.message);
          return;
        }
      } else if (kind === 'Liveness') {
        if (loop.failures >= failureThreshold) {
          this.#events.failed('Liveness', result.message);
          return;
        }
      } else {
        if (loop.successes >= successThreshold) this.#setReady(true);
        if (loop.failures >= failureThreshold) this.#setReady(false);
      }
    }
    this.#schedule(kind, probe, false);
  }
}
