// Parses peer and listen URLs (etcd style: http://host:port) into the
// host:port targets grpc-js dials and binds. Peer traffic is plaintext HTTP/2
// for now, so an https URL is refused rather than silently downgraded.
// It must never guess a port or accept a URL it cannot serve.

/** PeerAddress is a validated peer URL and the grpc target it maps to. */
export interface PeerAddress {
  url: string;
  /** host:port (IPv6 hosts keep their brackets). */
  target: string;
  host: string;
  port: number;
}

/** parsePeerUrl validates `url` and returns its grpc target; throws a message naming `what`. */
export function parsePeerUrl(url: string, what = 'peer URL', allowPortZero = false): PeerAddress {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`${what} ${JSON.stringify(url)} is not a URL; expected http://host:port`);
  }
  if (u.protocol === 'https:') throw new Error(`${what} ${JSON.stringify(url)}: TLS peer URLs are not supported yet; use http://`);
  if (u.protocol !== 'http:') throw new Error(`${what} ${JSON.stringify(url)} must use http://, not ${u.protocol}`);
  if (u.username || u.password) throw new Error(`${what} ${JSON.stringify(url)} must not carry credentials`);
  if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) {
    throw new Error(`${what} ${JSON.stringify(url)} must be just http://host:port, without a path or query`);
  }
  // URL drops the port when it is the scheme default; ask for it explicitly in that case too.
  const explicitPort = /^http:\/\/(\[[^\]]+\]|[^/:]+):(\d+)\/?$/i.exec(url);
  if (!explicitPort) throw new Error(`${what} ${JSON.stringify(url)} must name a port, for example http://127.0.0.1:2380`);
  const port = Number(explicitPort[2]);
  if (!Number.isInteger(port) || port > 65535 || (port === 0 && !allowPortZero)) {
    throw new Error(`${what} ${JSON.stringify(url)} has an invalid port ${explicitPort[2]}`);
  }
  const host = u.hostname;
  return { url, target: `${host}:${port}`, host, port };
}
