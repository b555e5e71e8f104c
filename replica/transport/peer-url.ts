// Parses peer and listen URLs (etcd style: http://host:port or
// https://host:port) into the host:port targets grpc-js dials and binds, and
// says whether the URL asks for TLS.
// It must never guess a port or accept a URL it cannot serve.

/** PeerAddress is a validated peer URL and the grpc target it maps to. */
export interface PeerAddress {
  url: string;
  /** host:port (IPv6 hosts keep their brackets). */
  target: string;
  host: string;
  port: number;
  /** https:// — the link must be TLS */
  secure: boolean;
}

/** parsePeerUrl validates `url` and returns its grpc target; throws a message naming `what`. */
export function parsePeerUrl(url: string, what = 'peer URL', allowPortZero = false): PeerAddress {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`${what} ${JSON.stringify(url)} is not a URL; expected http://host:port or https://host:port`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`${what} ${JSON.stringify(url)} must use http:// or https://, not ${u.protocol}`);
  if (u.username || u.password) throw new Error(`${what} ${JSON.stringify(url)} must not carry credentials`);
  if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) {
    throw new Error(`${what} ${JSON.stringify(url)} must be just ${u.protocol}//host:port, without a path or query`);
  }
  // URL drops the port when it is the scheme default; ask for it explicitly in that case too.
  const explicitPort = /^https?:\/\/(\[[^\]]+\]|[^/:]+):(\d+)\/?$/i.exec(url);
  if (!explicitPort) throw new Error(`${what} ${JSON.stringify(url)} must name a port, for example ${u.protocol}//127.0.0.1:2380`);
  const port = Number(explicitPort[2]);
  if (!Number.isInteger(port) || port > 65535 || (port === 0 && !allowPortZero)) {
    throw new Error(`${what} ${JSON.stringify(url)} has an invalid port ${explicitPort[2]}`);
  }
  const host = u.hostname;
  return { url, target: `${host}:${port}`, host, port, secure: u.protocol === 'https:' };
}
