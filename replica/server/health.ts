// The metrics URL: /metrics (Prometheus text), /healthz (the process is
// alive and its loop runs) and /readyz (the member knows a leader and has
// applied everything it knew committed when asked). Must never block on raft.
import http from 'node:http';
import type { Registry } from 'prom-client';
import { bareHost } from '../grpc/host.ts';

export interface HealthSource {
  registry: Registry;
  /** live: the raft loop is running. */
  live(): boolean;
  /** ready: undefined when ready, else the reason. */
  notReadyReason(): string | undefined;
}

export async function startHealthServer(urls: URL[], src: HealthSource): Promise<{ servers: http.Server[]; ports: number[]; close(): Promise<void> }> {
  const handler: http.RequestListener = (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (url.pathname === '/metrics') {
      src.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': src.registry.contentType }).end(text),
        (e) => res.writeHead(500).end(String(e)),
      );
      return;
    }
    if (url.pathname === '/healthz' || url.pathname === '/livez') {
      if (src.live()) res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      else res.writeHead(503, { 'content-type': 'text/plain' }).end('raft loop stopped\n');
      return;
    }
    if (url.pathname === '/readyz') {
      const why = src.notReadyReason();
      if (!why) res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      else res.writeHead(503, { 'content-type': 'text/plain' }).end(`${why}\n`);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics, /healthz or /readyz\n');
  };
  const servers: http.Server[] = [];
  const ports: number[] = [];
  for (const u of urls) {
    const s = http.createServer(handler);
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(Number(u.port), bareHost(u.hostname), () => resolve());
    });
    servers.push(s);
    ports.push((s.address() as { port: number }).port);
  }
  return {
    servers,
    ports,
    close: () =>
      Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.closeAllConnections();
              s.close(() => resolve());
            }),
        ),
      ).then(() => undefined),
  };
}
