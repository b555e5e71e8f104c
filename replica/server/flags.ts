// Command-line flags of the replica, named after etcd's so etcd users feel at
// home. Parsing turns them into a validated ReplicaConfig or throws a one-line
// FlagError naming the flag and what is wrong. Must never start anything.
import { parseArgs } from 'node:util';

export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

export interface ReplicaConfig {
  name: string;
  dataDir: string;
  listenClientUrls: URL[];
  advertiseClientUrls: string[];
  listenPeerUrls: URL[];
  initialAdvertisePeerUrls: string[];
  /** initialCluster maps member name to its peer URLs. */
  initialCluster: Map<string, string[]>;
  initialClusterState: 'new' | 'existing';
  initialClusterToken: string;
  listenMetricsUrls: URL[];
  /** raft tick length in milliseconds (etcd's --heartbeat-interval) */
  heartbeatIntervalMs: number;
  /** election timeout in milliseconds (etcd's --election-timeout) */
  electionTimeoutMs: number;
  /** take a snapshot every this many applied entries */
  snapshotCount: number;
  /** entries kept behind a snapshot for slow followers */
  snapshotCatchupEntries: number;
  /** own snapshots after a whole one that are deltas (0: all whole) */
  snapshotDeltas: number;
  /** digest checkpoint every this many applied entries (same on every member) */
  checkpointInterval: number;
  maxRequestBytes: number;
  maxTxnOps: number;
  logLevel: string;
  /** test-only: serve linearizable reads locally without ReadIndex (a deliberate bug for the chaos harness) */
  unsafeLocalReads: boolean;
  /** test-only: allow fault injection through the admin API */
  enableFaultInjection: boolean;
  /**
   * test-only: dial a peer URL through another address (a fault-injecting
   * proxy per directed link in the chaos harness). Keys and values are URLs.
   */
  peerDialOverrides: Map<string, string>;
  /** client port TLS (--cert-file, --key-file, --trusted-ca-file, --client-cert-auth); absent: plaintext */
  clientTls?: ClientTlsConfig;
  /** peer port mutual TLS (--peer-cert-file, --peer-key-file, --peer-trusted-ca-file); absent: plaintext */
  peerTls?: PeerTlsConfig;
  /** identities (certificate CN, URI SAN or DNS SAN) allowed to call the admin API */
  adminAllowedIdentities: string[];
  /** how often TLS files are re-checked besides change notifications, in milliseconds */
  tlsReloadIntervalMs: number;
  /** client port: a connection silent this long gets a PING (etcd's --grpc-keepalive-interval); 0: never */
  grpcKeepaliveIntervalMs: number;
  /** client port: a connection that answers no keepalive PING this long is closed (etcd's --grpc-keepalive-timeout) */
  grpcKeepaliveTimeoutMs: number;
}

export interface ClientTlsConfig {
  certFile: string;
  keyFile: string;
  /** CA bundle that verifies client certificates (needed for --client-cert-auth and for admin calls) */
  trustedCaFile?: string;
  /** every client call needs a verified client certificate */
  clientCertAuth: boolean;
}

export interface PeerTlsConfig {
  certFile: string;
  keyFile: string;
  trustedCaFile: string;
}

export const USAGE = `usage: replicant replica [flags]

  --name NAME                          member name (default "default")
  --data-dir DIR                       data directory (default "NAME.replicant")
  --listen-client-urls URLS            client (etcd v3 gRPC + admin) listen URLs (default http://127.0.0.1:2379)
  --advertise-client-urls URLS         client URLs to advertise to the cluster (default: the listen URLs)
  --listen-peer-urls URLS              peer listen URLs (default http://127.0.0.1:2380)
  --initial-advertise-peer-urls URLS   peer URLs to advertise (default: the listen URLs)
  --initial-cluster NAME=URL,...       initial members (default NAME=first advertised peer URL)
  --initial-cluster-state new|existing new: found a cluster; existing: join one that already added this member
  --initial-cluster-token TOKEN        cluster token (default "replicant-cluster")
  --listen-metrics-urls URLS           /metrics /healthz /readyz listen URLs (default http://127.0.0.1:2381)
  --heartbeat-interval MS              raft tick in milliseconds (default 100)
  --election-timeout MS                election timeout in milliseconds (default 1000)
  --snapshot-count N                   applied entries between snapshots (default 100000, as etcd's; each member at its own point of the period)
  --snapshot-catchup-entries N         entries kept after a snapshot for slow followers (default 5000)
  --snapshot-deltas N                  own snapshots after a whole one that write only what changed since the one before (default 8; 0: every one whole)
  --checkpoint-interval N              applied entries between state digests (default 1000)
  --max-request-bytes N                largest client request (default 1572864)
  --max-txn-ops N                      most operations in one txn (default 128)
  --cert-file FILE                     client port TLS certificate (PEM; needed for https:// client URLs)
  --key-file FILE                      client port TLS private key (PEM)
  --trusted-ca-file FILE               CA bundle verifying client certificates (admin calls, --client-cert-auth)
  --client-cert-auth                   every client call needs a client certificate signed by --trusted-ca-file
  --peer-cert-file FILE                peer TLS certificate; must name this member's peer URL host (needed for https:// peer URLs)
  --peer-key-file FILE                 peer TLS private key (PEM)
  --peer-trusted-ca-file FILE          CA bundle of the group's peer certificates
  --peer-client-cert-auth              accepted for etcd compatibility: https:// peers always authenticate each other
  --admin-allowed-identities IDS       certificate identities (CN, URI or DNS SAN) allowed to call the admin API
                                       and change membership over TLS (default "replicant-operator")
  --tls-reload-interval MS             re-check the TLS files this often besides change notifications (default 5000)
  --grpc-keepalive-interval DURATION   ping a client connection silent this long, e.g. 2h, 30m, 90s; 0 never (default 2h, as etcd)
  --grpc-keepalive-timeout DURATION    close a client connection that answers no keepalive ping this long (default 20s, as etcd)
  --log-level LEVEL                    debug, info, warn or error (default info)
  --help                               print this help
`;

function urls(flag: string, value: string): URL[] {
  const out: URL[] = [];
  for (const raw of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw new FlagError(`--${flag}: ${JSON.stringify(raw)} is not a URL (expected e.g. http://127.0.0.1:2379)`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new FlagError(`--${flag}: ${raw}: scheme must be http or https`);
    if (!u.port) throw new FlagError(`--${flag}: ${raw}: a port is required`);
    if (u.pathname !== '/' && u.pathname !== '') throw new FlagError(`--${flag}: ${raw}: URLs must not have a path`);
    out.push(u);
  }
  if (out.length === 0) throw new FlagError(`--${flag}: at least one URL is required`);
  return out;
}

/** DEFAULT_SNAPSHOT_DELTAS: how many delta snapshots may follow a whole one (see extendsChain in snapshot-schedule.ts). */
export const DEFAULT_SNAPSHOT_DELTAS = 8;

function positive(flag: string, value: string | undefined, def: number, min = 1): number {
  if (value === undefined) return def;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new FlagError(`--${flag}: ${JSON.stringify(value)} must be an integer >= ${min}`);
  return n;
}

const DURATION_UNITS_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3600_000 };

/**
 * duration parses a Go duration as etcd's flags take them ("2h", "1m30s",
 * "500ms", "0") into milliseconds; throws FlagError naming the flag.
 */
export function duration(flag: string, value: string): number {
  if (value === '0') return 0;
  // Go's form: an optional +, then one or more decimal numbers each with a unit ("1.5h", ".5s", "1h30m")
  const part = /(\d+\.?\d*|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let ms = 0;
  const start = value.startsWith('+') ? 1 : 0;
  let at = start;
  while (at < value.length) {
    part.lastIndex = at;
    const m = part.exec(value);
    if (!m) break;
    ms += Number(m[1]) * DURATION_UNITS_MS[m[2]];
    at = part.lastIndex;
  }
  if (at === start || at !== value.length) throw new FlagError(`--${flag}: ${JSON.stringify(value)} is not a duration (expected e.g. 2h, 1m30s, 20s, 500ms)`);
  return ms;
}

/** keepaliveDuration is a keepalive flag's value: at least 1 s, or 0 (off) where `zeroIsOff`. */
function keepaliveDuration(flag: string, value: string | undefined, def: number, zeroIsOff: boolean): number {
  if (value === undefined) return def;
  const ms = duration(flag, value);
  if (ms === 0 && zeroIsOff) return 0;
  if (ms < 1000) throw new FlagError(`--${flag}: ${value} is under 1s${zeroIsOff ? ' (0 turns keepalive pings off)' : ''}`);
  return ms;
}

function plain(u: URL): string {
  return `${u.protocol}//${u.host}`;
}

function dialOverrides(value: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!value) return out;
  for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new FlagError(`--peer-dial-overrides: ${JSON.stringify(part)} must be PEER_URL=DIAL_URL`);
    const [from] = urls('peer-dial-overrides', part.slice(0, eq)).map(plain);
    const [to] = urls('peer-dial-overrides', part.slice(eq + 1)).map(plain);
    out.set(from, to);
  }
  return out;
}

const BOOLEAN_FLAGS = ['client-cert-auth', 'peer-client-cert-auth', 'unsafe-local-reads', 'enable-fault-injection', 'help'];

/**
 * booleanForms accepts etcd's spellings of boolean flags (--flag, --flag=true,
 * --flag=false) and reports the ones explicitly turned off.
 */
function booleanForms(argv: string[]): { args: string[]; off: Set<string> } {
  const args: string[] = [];
  const off = new Set<string>();
  for (const a of argv) {
    const m = /^--([a-z-]+)=(true|false)$/.exec(a);
    if (m && BOOLEAN_FLAGS.includes(m[1])) {
      if (m[2] === 'true') args.push(`--${m[1]}`);
      else off.add(m[1]);
      continue;
    }
    args.push(a);
  }
  return { args, off };
}

function identities(value: string): string[] {
  const out = value.split(',').map((s) => s.trim());
  if (out.length === 0 || out.some((s) => s === '')) throw new FlagError(`--admin-allowed-identities: ${JSON.stringify(value)} must be a comma-separated list of non-empty identities`);
  return out;
}

/**
 * tlsFlags validates the TLS flags against the URLs: https:// needs its
 * certificate and key, TLS files need https:// URLs, and the peer side is
 * always mutual.
 */
function tlsFlags(
  s: (k: string) => string | undefined,
  values: Record<string, string | boolean | undefined>,
  off: Set<string>,
  urls: { listenClient: URL[]; advertiseClient: string[]; listenPeer: URL[]; advertisePeer: string[]; cluster: string[] },
): { clientTls?: ClientTlsConfig; peerTls?: PeerTlsConfig } {
  const https = (u: URL | string) => (typeof u === 'string' ? u.startsWith('https:') : u.protocol === 'https:');
  // ---- client port
  const certFile = s('cert-file');
  const keyFile = s('key-file');
  const trustedCaFile = s('trusted-ca-file');
  const clientCertAuth = !!values['client-cert-auth'];
  let clientTls: ClientTlsConfig | undefined;
  const anyHttpsClient = urls.listenClient.some(https);
  if (!!certFile !== !!keyFile) throw new FlagError(`--cert-file and --key-file must be given together`);
  if (anyHttpsClient && !certFile) {
    throw new FlagError(`--listen-client-urls: https:// needs --cert-file and --key-file (the client port's TLS certificate and key)`);
  }
  if (certFile && !anyHttpsClient) throw new FlagError(`--cert-file is set but no --listen-client-urls is https://`);
  if (trustedCaFile && !certFile) throw new FlagError(`--trusted-ca-file needs --cert-file and --key-file: client certificates are only checked over TLS`);
  if (clientCertAuth) {
    if (!trustedCaFile) throw new FlagError(`--client-cert-auth needs --trusted-ca-file to verify client certificates`);
    const plain = urls.listenClient.filter((u) => !https(u));
    if (plain.length) throw new FlagError(`--client-cert-auth: every --listen-client-urls must be https://, not ${plain[0].href}`);
  }
  if (certFile && keyFile) {
    clientTls = { certFile, keyFile, trustedCaFile, clientCertAuth };
    if (urls.listenClient.every(https)) {
      const plain = urls.advertiseClient.find((u) => !https(u));
      if (plain) throw new FlagError(`--advertise-client-urls: ${plain} is http:// but the client port serves only TLS`);
    }
  }
  // ---- peer port
  const peerCert = s('peer-cert-file');
  const peerKey = s('peer-key-file');
  const peerCa = s('peer-trusted-ca-file');
  const peerHttps = urls.listenPeer.map(https);
  if (peerHttps.some((h) => h !== peerHttps[0])) throw new FlagError(`--listen-peer-urls: mix of http:// and https://; use one scheme`);
  if (peerHttps[0]) {
    if (!peerCert || !peerKey || !peerCa) {
      throw new FlagError(`--listen-peer-urls: https:// needs --peer-cert-file, --peer-key-file and --peer-trusted-ca-file (peers always authenticate each other)`);
    }
    if (off.has('peer-client-cert-auth')) throw new FlagError(`--peer-client-cert-auth=false: https:// peers always authenticate each other; it cannot be turned off`);
    for (const [flag, list] of [['initial-advertise-peer-urls', urls.advertisePeer], ['initial-cluster', urls.cluster]] as const) {
      const plain = list.find((u) => !https(u));
      if (plain) throw new FlagError(`--${flag}: ${plain} is http:// but this member's peer port serves TLS; every peer URL must be https://`);
    }
    return { clientTls, peerTls: { certFile: peerCert, keyFile: peerKey, trustedCaFile: peerCa } };
  }
  if (peerCert || peerKey || peerCa || values['peer-client-cert-auth']) {
    throw new FlagError(`--peer-cert-file/--peer-key-file/--peer-trusted-ca-file/--peer-client-cert-auth need https:// --listen-peer-urls`);
  }
  const tlsPeer = [...urls.advertisePeer, ...urls.cluster].find(https);
  if (tlsPeer) throw new FlagError(`peer URL ${tlsPeer} is https:// but --listen-peer-urls is http://; use https:// with the --peer-* TLS flags`);
  return { clientTls };
}

/** parseFlags parses argv (without node and script); returns undefined when --help was asked. */
export function parseFlags(argv: string[]): ReplicaConfig | undefined {
  const opt = { type: 'string' } as const;
  let values: Record<string, string | boolean | undefined>;
  const { args, off } = booleanForms(argv);
  try {
    ({ values } = parseArgs({
      args,
      options: {
        name: opt,
        'data-dir': opt,
        'listen-client-urls': opt,
        'advertise-client-urls': opt,
        'listen-peer-urls': opt,
        'initial-advertise-peer-urls': opt,
        'initial-cluster': opt,
        'initial-cluster-state': opt,
        'initial-cluster-token': opt,
        'listen-metrics-urls': opt,
        'heartbeat-interval': opt,
        'election-timeout': opt,
        'snapshot-count': opt,
        'snapshot-catchup-entries': opt,
        'snapshot-deltas': opt,
        'checkpoint-interval': opt,
        'max-request-bytes': opt,
        'max-txn-ops': opt,
        'log-level': opt,
        'unsafe-local-reads': { type: 'boolean' },
        'enable-fault-injection': { type: 'boolean' },
        'peer-dial-overrides': opt,
        'cert-file': opt,
        'key-file': opt,
        'trusted-ca-file': opt,
        'client-cert-auth': { type: 'boolean' },
        'peer-cert-file': opt,
        'peer-key-file': opt,
        'peer-trusted-ca-file': opt,
        'peer-client-cert-auth': { type: 'boolean' },
        'admin-allowed-identities': opt,
        'tls-reload-interval': opt,
        'grpc-keepalive-interval': opt,
        'grpc-keepalive-timeout': opt,
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new FlagError((e as Error).message.split('\n')[0]);
  }
  if (values.help) return undefined;
  const s = (k: string) => values[k] as string | undefined;
  const name = s('name') ?? 'default';
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new FlagError(`--name: ${JSON.stringify(name)} must be letters, digits, '.', '_' or '-'`);
  const listenClientUrls = urls('listen-client-urls', s('listen-client-urls') ?? 'http://127.0.0.1:2379');
  const listenPeerUrls = urls('listen-peer-urls', s('listen-peer-urls') ?? 'http://127.0.0.1:2380');
  const advertiseClientUrls = s('advertise-client-urls')
    ? urls('advertise-client-urls', s('advertise-client-urls')!).map(plain)
    : listenClientUrls.map(plain);
  const initialAdvertisePeerUrls = s('initial-advertise-peer-urls')
    ? urls('initial-advertise-peer-urls', s('initial-advertise-peer-urls')!).map(plain)
    : listenPeerUrls.map(plain);
  const initialCluster = new Map<string, string[]>();
  const ic = s('initial-cluster') ?? `${name}=${initialAdvertisePeerUrls[0]}`;
  for (const part of ic.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new FlagError(`--initial-cluster: ${JSON.stringify(part)} must be NAME=URL`);
    const n = part.slice(0, eq);
    const u = urls('initial-cluster', part.slice(eq + 1)).map(plain);
    initialCluster.set(n, [...(initialCluster.get(n) ?? []), ...u]);
  }
  const mine = initialCluster.get(name);
  if (!mine) throw new FlagError(`--initial-cluster: does not list this member's name ${JSON.stringify(name)}`);
  if (!mine.some((u) => initialAdvertisePeerUrls.includes(u))) {
    throw new FlagError(
      `--initial-cluster: ${name}=${mine.join(',')} does not match --initial-advertise-peer-urls ${initialAdvertisePeerUrls.join(',')}`,
    );
  }
  const state = s('initial-cluster-state') ?? 'new';
  if (state !== 'new' && state !== 'existing') throw new FlagError(`--initial-cluster-state: must be new or existing, got ${JSON.stringify(state)}`);
  const heartbeatIntervalMs = positive('heartbeat-interval', s('heartbeat-interval'), 100, 5);
  const electionTimeoutMs = positive('election-timeout', s('election-timeout'), 1000, 10);
  if (electionTimeoutMs < 3 * heartbeatIntervalMs) {
    throw new FlagError(`--election-timeout: ${electionTimeoutMs}ms must be at least 3x --heartbeat-interval (${heartbeatIntervalMs}ms)`);
  }
  const tls = tlsFlags(s, values, off, {
    listenClient: listenClientUrls,
    advertiseClient: advertiseClientUrls,
    listenPeer: listenPeerUrls,
    advertisePeer: initialAdvertisePeerUrls,
    cluster: [...initialCluster.values()].flat(),
  });
  const level = s('log-level') ?? 'info';
  if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new FlagError(`--log-level: must be debug, info, warn or error`);
  return {
    name,
    dataDir: s('data-dir') ?? `${name}.replicant`,
    listenClientUrls,
    advertiseClientUrls,
    listenPeerUrls,
    initialAdvertisePeerUrls,
    initialCluster,
    initialClusterState: state,
    initialClusterToken: s('initial-cluster-token') ?? 'replicant-cluster',
    listenMetricsUrls: urls('listen-metrics-urls', s('listen-metrics-urls') ?? 'http://127.0.0.1:2381'),
    heartbeatIntervalMs,
    electionTimeoutMs,
    snapshotCount: positive('snapshot-count', s('snapshot-count'), 100000),
    snapshotCatchupEntries: positive('snapshot-catchup-entries', s('snapshot-catchup-entries'), 5000, 0),
    snapshotDeltas: positive('snapshot-deltas', s('snapshot-deltas'), DEFAULT_SNAPSHOT_DELTAS, 0),
    checkpointInterval: positive('checkpoint-interval', s('checkpoint-interval'), 1000),
    maxRequestBytes: positive('max-request-bytes', s('max-request-bytes'), 1572864, 1024),
    maxTxnOps: positive('max-txn-ops', s('max-txn-ops'), 128),
    logLevel: level,
    unsafeLocalReads: !!values['unsafe-local-reads'],
    peerDialOverrides: dialOverrides(s('peer-dial-overrides')),
    enableFaultInjection: !!values['enable-fault-injection'],
    ...tls,
    adminAllowedIdentities: identities(s('admin-allowed-identities') ?? 'replicant-operator'),
    tlsReloadIntervalMs: positive('tls-reload-interval', s('tls-reload-interval'), 5000, 100),
    grpcKeepaliveIntervalMs: keepaliveDuration('grpc-keepalive-interval', s('grpc-keepalive-interval'), 2 * 3600_000, true),
    grpcKeepaliveTimeoutMs: keepaliveDuration('grpc-keepalive-timeout', s('grpc-keepalive-timeout'), 20_000, false),
  };
}
