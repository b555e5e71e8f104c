// Parses and checks `host:port` endpoints for the proxies. Tests here must
// never bind or connect outside 127.0.0.0/8, so anything else is refused
// before a socket is made.

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/** parseLoopbackEndpoint reads `127.x.y.z:port` (or a bare port, meaning 127.0.0.1). */
export function parseLoopbackEndpoint(text: string, what: string): Endpoint {
  const m = /^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d{1,5})$/.exec(String(text).trim());
  if (!m) throw new Error(`proxy: ${what} must be "127.x.y.z:port", got ${JSON.stringify(text)}`);
  const host = m[1] ?? '127.0.0.1';
  const port = Number(m[2]);
  const octets = host.split('.').map(Number);
  if (octets.some((o) => o > 255)) throw new Error(`proxy: ${what} has a malformed IPv4 address: ${JSON.stringify(text)}`);
  if (octets[0] !== 127) throw new Error(`proxy: ${what} must be in 127.0.0.0/8 (tests never touch other networks), got ${JSON.stringify(text)}`);
  if (port > 65535) throw new Error(`proxy: ${what} port must be at most 65535, got ${port}`);
  return { host, port };
}

export function formatEndpoint(e: Endpoint): string {
  return `${e.host}:${e.port}`;
}
