// Wires one replica together: TLS files, data dir (found a cluster, join one,
// or restart), raft node, peer transport (mutual TLS and the member check
// when configured), etcd client API + admin API on the client URLs (TLS and
// the admin identity check when configured), metrics and health on the
// metrics URLs. Returns a handle whose stop() hands leadership over when
// leading and releases every resource.
// Must never start serving before the storage has been recovered, nor serve a
// TLS-configured port without TLS.
import type { X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import pino, { type Logger } from 'pino';
import { MemoryStorage, bootstrap, type NodeId } from '../raft/index.ts';
import { KvStore } from '../kv/index.ts';
import { isInitialized, openStorage, openValueSpill, type DiskStorage } from '../storage/index.ts';
import { PeerTransport } from '../transport/index.ts';
import { clusterRelayService, maxReceiveBytes, registerEtcdApi } from './etcdapi/index.ts';
import { GrpcServer, type CallHooks } from '../grpc/index.ts';
import { loadProtos, serviceDefinition } from '../../proto/grpc.ts';
import type { ReplicaConfig } from './flags.ts';
import { clusterIdFor, hexId, memberIdFor } from './ids.ts';
import { readIdentity, writeIdentity, type Identity } from './identity.ts';
import { MemberTable, type MemberRecord } from './members.ts';
import { decodeSnapshot, encodeSnapshot, mergeSnapshotData, mergeSnapshotDataInSlices } from './envelope.ts';
import { createReplicaMetrics } from './metrics.ts';
import { ReplicaNode } from './replica-node.ts';
import { Reconfigurer } from './reconfigure.ts';
import { RaftClientBackend, SERVER_VERSION } from './client-backend.ts';
import { adminHandlers, adminServiceDefinition } from './admin-service.ts';
import { startHealthServer } from './health.ts';
import { DivergenceWatch } from './divergence-watch.ts';
import { askPeers, lostDataError, ranBefore } from './lost-data.ts';
import { membershipClient } from './membership-client.ts';
import { PeerDialer } from './peer-dial.ts';
import { latencyTraceOn, traceMark } from './latency-trace.ts';
import {
  EKU_CLIENT_AUTH,
  EKU_SERVER_AUTH,
  TlsFiles,
  allowsUsage,
  clientAccessCheck,
  describe,
  identifiesPeerUrls,
  identityOfX509,
  peerAccessCheck,
  type ClientCertMode,
  type MemberDirectory,
} from './tls/index.ts';

export interface ReplicaHandle {
  readonly config: ReplicaConfig;
  readonly node: ReplicaNode;
  readonly memberId: NodeId;
  readonly clusterId: number;
  /** the bound client, peer and metrics ports (useful when the flags asked for port 0) */
  readonly clientPort: number;
  readonly peerPort: number;
  readonly metricsPort: number;
  readonly log: Logger;
  /** stop hands leadership over (when leading), then closes everything. */
  stop(opts?: { transferLeadership?: boolean }): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** called when the member cannot continue (storage failure); default: log and exit(1) */
  onFatal?: (err: Error) => void;
}

let peerRoot: ReturnType<typeof loadProtos> | undefined;

function listenTarget(u: URL): string {
  return `${u.hostname}:${u.port}`;
}

const NO_MEMBERS: MemberDirectory = { get: () => undefined, isRemoved: () => false, list: () => [], removedMembers: () => [] };

/** loadTls reads the configured TLS files (throwing a one-line error naming the flag) and starts following them. */
function loadTls(config: ReplicaConfig, log: Logger): { client?: TlsFiles; peer?: TlsFiles } {
  const out: { client?: TlsFiles; peer?: TlsFiles } = {};
  const reloadIntervalMs = config.tlsReloadIntervalMs;
  if (config.clientTls) {
    const c = config.clientTls;
    out.client = new TlsFiles(
      { certFile: c.certFile, keyFile: c.keyFile, trustedCaFile: c.trustedCaFile },
      { flags: { cert: '--cert-file', key: '--key-file', ca: '--trusted-ca-file' }, log: log.child({ tls: 'client' }), reloadIntervalMs },
    );
  }
  if (config.peerTls) {
    const p = config.peerTls;
    // Other members recognise this member by its certificate naming its peer URL: refuse one that does not.
    const validate = (m: { leaf: X509Certificate }): string | undefined => {
      const id = identityOfX509(m.leaf);
      if (!allowsUsage(id, EKU_SERVER_AUTH) || !allowsUsage(id, EKU_CLIENT_AUTH)) {
        return `--peer-cert-file ${p.certFile}: a peer certificate is used to serve and to dial, so it needs both the serverAuth and clientAuth usages`;
      }
      if (!identifiesPeerUrls(id, config.initialAdvertisePeerUrls)) {
        return `--peer-cert-file ${p.certFile}: names ${describe(id)}, not this member's peer URL ${config.initialAdvertisePeerUrls.join(', ')} (as a DNS/IP SAN of its host, or a URI SAN); the other members would refuse it`;
      }
      return undefined;
    };
    out.peer = new TlsFiles(
      { certFile: p.certFile, keyFile: p.keyFile, trustedCaFile: p.trustedCaFile },
      { flags: { cert: '--peer-cert-file', key: '--peer-key-file', ca: '--peer-trusted-ca-file' }, log: log.child({ tls: 'peer' }), reloadIntervalMs, validate },
    );
  }
  if (out.client) {
    const id = identityOfX509(out.client.material.leaf);
    const unnamed = config.advertiseClientUrls.filter((u) => !identifiesPeerUrls(id, [u]));
    if (unnamed.length) log.warn({ names: describe(id), unnamed }, '--cert-file does not name these advertised client URLs; clients that check the server name will refuse them');
  }
  out.client?.start();
  out.peer?.start();
  return out;
}

/** startReplica recovers or creates the member's state and starts serving. */
export async function startReplica(config: ReplicaConfig, opts: StartOptions = {}): Promise<ReplicaHandle> {
  const log = opts.logger ?? pino({ level: config.logLevel, base: { member: config.name } });
  const metrics = createReplicaMetrics({ member: config.name });

  // ---- TLS files ------------------------------------------------------------------
  const tlsFiles = loadTls(config, log);
  const stopTls = () => {
    tlsFiles.client?.stop();
    tlsFiles.peer?.stop();
  };
  let nodeRef: ReplicaNode | undefined;
  const dialer = new PeerDialer({ tls: tlsFiles.peer, overrides: config.peerDialOverrides, members: () => nodeRef?.members ?? NO_MEMBERS });
  try {
    return await serve(config, opts, log, metrics, tlsFiles, dialer, (n) => (nodeRef = n), stopTls);
  } catch (e) {
    stopTls();
    throw e;
  }
}

/** serve is startReplica once the TLS files are loaded. */
async function serve(
  config: ReplicaConfig,
  opts: StartOptions,
  log: Logger,
  metrics: ReturnType<typeof createReplicaMetrics>,
  tlsFiles: { client?: TlsFiles; peer?: TlsFiles },
  dialer: PeerDialer,
  setNode: (n: ReplicaNode) => void,
  stopTls: () => void,
): Promise<ReplicaHandle> {
  const tickMs = config.heartbeatIntervalMs;
  const electionTicks = Math.max(2, Math.round(config.electionTimeoutMs / tickMs));
  const myPeerUrl = config.initialAdvertisePeerUrls[0];

  // ---- identity: restart, found, or join --------------------------------------
  let identity = readIdentity(config.dataDir);
  let joinMembers: MemberRecord[] | undefined;
  const initialized = isInitialized(config.dataDir);
  if (initialized && !identity) {
    throw new Error(`${config.dataDir}: holds a write-ahead log but no member identity; it was not created by this version of replicant`);
  }
  if (!identity) {
    if (config.initialClusterState === 'new') {
      const ids = [...config.initialCluster.keys()].map((n) => memberIdFor(n, config.initialClusterToken));
      identity = { clusterId: clusterIdFor(config.initialClusterToken, ids), memberId: memberIdFor(config.name, config.initialClusterToken), name: config.name };
      // An empty data dir: found the cluster only if no peer knows this member as one that already ran.
      if (!initialized) {
        for (const { peer, answer } of await askPeers(config, myPeerUrl, 2000, dialer)) {
          if (ranBefore(answer, identity.memberId)) throw lostDataError(config, identity.memberId, answer, peer);
        }
      }
    } else {
      const found = await discoverSelf(config, myPeerUrl, log, dialer);
      identity = { clusterId: found.clusterId, memberId: found.memberId, name: config.name };
      joinMembers = found.members;
    }
  } else if (identity.name !== config.name) {
    log.warn({ was: identity.name, now: config.name }, 'member name changed since this data dir was created');
  }
  const { clusterId, memberId } = identity;

  // ---- storage -------------------------------------------------------------------
  const opened = await openStorage(config.dataDir, { clusterId, memberId }, { onFsync: (s) => metrics.walFsyncSeconds.observe(s), mergeSnapshotData, mergeSnapshotDataInSlices });
  const disk: DiskStorage = opened.storage;
  for (const w of opened.warnings) log.warn(w);
  // Old values leave the heap for files in the data dir (under its lock, taken above).
  const spill = openValueSpill(config.dataDir, {
    onError: (err, what) => log.warn({ err, what }, 'value spill: a file operation failed (old values stay in memory from now on)'),
  });
  metrics.sources.spilledBytes = () => spill.stats().liveBytes;
  const kv = new KvStore({ checkpointInterval: config.checkpointInterval, spill });
  const mem = new MemoryStorage();
  let members: MemberTable;
  let applied = 0;
  if (!initialized && config.initialClusterState === 'new') {
    // Found the cluster: every founding member writes the same initial snapshot.
    const records: MemberRecord[] = [...config.initialCluster].map(([name, urls]) => ({
      id: memberIdFor(name, config.initialClusterToken),
      name: '',
      peerURLs: urls,
      clientURLs: [],
    }));
    const voters = records.map((r) => r.id);
    const conf = { voters: [...voters].sort((a, b) => a - b), learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false };
    members = MemberTable.initial(records, conf);
    const snap = bootstrap(mem, voters, encodeSnapshot(members.encode(), kv.snapshot()));
    await disk.saveSnapshot(snap);
    await disk.save(mem.getHardState(), [], true);
    kv.advanceTo(1);
    applied = 1;
    writeIdentity(config.dataDir, identity);
    log.info({ cluster: hexId(clusterId), memberId: hexId(memberId), members: records.length }, 'founded a new cluster');
  } else {
    const st = opened.state;
    if (st.snapshot) {
      mem.applySnapshot(st.snapshot);
      const parts = decodeSnapshot(st.snapshot.data);
      kv.restore(parts.kv);
      kv.advanceTo(st.snapshot.metadata.index);
      members = MemberTable.decode(parts.members, st.snapshot.metadata.confState);
      applied = st.snapshot.metadata.index;
    } else {
      // A joining member: nothing yet; the leader will send a snapshot.
      members = MemberTable.initial(joinMembers ?? [], { voters: [], learners: [], votersOutgoing: [], learnersNext: [], autoLeave: false });
    }
    mem.setHardState(st.hardState);
    mem.append(st.entries);
    if (!initialized) writeIdentity(config.dataDir, identity);
    log.info(
      { cluster: hexId(clusterId), memberId: hexId(memberId), snapshot: applied, entries: st.entries.length, commit: st.hardState.commit },
      initialized ? 'recovered from data dir' : 'joining an existing cluster',
    );
  }

  // ---- raft node and transport -------------------------------------------------
  let fatal = opts.onFatal ?? ((err: Error) => {
    log.fatal({ err }, 'stopping: the member must restart');
    process.exit(1);
  });
  const node: ReplicaNode = new ReplicaNode({
    id: memberId,
    name: config.name,
    clientURLs: config.advertiseClientUrls,
    tickMs,
    electionTicks,
    mem,
    disk,
    kv,
    members,
    applied,
    logger: log,
    metrics,
    snapshotCount: config.snapshotCount,
    snapshotCatchupEntries: config.snapshotCatchupEntries,
    snapshotDeltas: config.snapshotDeltas,
    requestTimeoutMs: Math.max(5000, 5 * config.electionTimeoutMs),
    unsafeLocalReads: config.unsafeLocalReads,
    joinPeers: new Map((joinMembers ?? []).filter((m) => m.peerURLs.length > 0).map((m) => [m.id, m.peerURLs[0]])),
    onFatal: (e) => fatal(e),
  });
  setNode(node);

  // ---- services shared by the client and peer ports ------------------------------
  const dialMember = (id: NodeId, url: string) => dialer.dial(url, { memberId: id, peerUrl: url });
  const peerScheme = config.peerTls ? 'https:' : 'http:';
  const backend = new RaftClientBackend(() => node, clusterId, memberId, dialMember, peerScheme);
  const divergence = new DivergenceWatch({
    node: () => node,
    log,
    metrics,
    dial: dialMember,
    onSelfDivergent: (reason) => {
      backend.divergentReason = reason;
    },
  });
  const reconfigurer = new Reconfigurer(node, log, tickMs, peerScheme);
  const admin = adminHandlers({
    node: () => node,
    reconfigurer: () => reconfigurer,
    clusterId,
    name: config.name,
    version: SERVER_VERSION,
    log,
    divergence: () => divergence.current,
    faultInjection: config.enableFaultInjection,
    dial: dialMember,
  });
  const onClientApiError = (err: unknown) => log.warn({ err }, 'client API error');

  // ---- raft transport on the peer port ---------------------------------------------
  peerRoot ??= loadProtos('peer.proto');
  const transport = new PeerTransport({
    memberId,
    clusterId: String(clusterId),
    listenUrl: `${config.listenPeerUrls[0].protocol}//${config.listenPeerUrls[0].host}`,
    logger: log,
    onMessages: (msgs) => node.step(msgs),
    onUnreachable: (peer) => node.reportUnreachable(peer),
    onPeerRefused: (peer) => node.reportPeerRefused(peer),
    onSnapshotStatus: (peer, ok) => node.reportSnapshot(peer, ok),
    security: {
      serverTls: tlsFiles.peer,
      dial: (peer, address) => ({ tls: dialer.tlsOptions({ memberId: peer }, address.host) }),
      explain: (peer, address) => dialer.explain({ memberId: peer }, address.target),
      admit: peerAccessCheck(() => node.members, !!tlsFiles.peer, log),
    },
    services: [
      // Members relay admin and membership calls to the leader here (only current members may: tls/peer-access.ts).
      { definition: adminServiceDefinition(), implementation: admin },
      clusterRelayService(backend, onClientApiError),
      {
        definition: serviceDefinition(peerRoot, 'replicant.peer.v1.Membership'),
        implementation: {
          Checkpoints: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) =>
            cb(null, { memberId, checkpoints: node.kv.checkpoints() }),
          FindMember: (call: grpc.ServerUnaryCall<{ peerUrl: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
            const m = node.members.findByPeerURL(call.request.peerUrl);
            cb(null, {
              found: !!m,
              memberId: m?.id ?? 0,
              clusterId,
              members: node.members.list().map((x) => ({ id: x.id, name: x.name, peerUrls: x.peerURLs, clientUrls: x.clientURLs })),
            });
          },
        },
      },
    ],
  });
  await transport.start();
  node.start({
    send: (msgs) => transport.send(msgs),
    syncPeers: (peers) => {
      for (const [id, url] of peers) {
        try {
          transport.addPeer(id, config.peerDialOverrides.get(url) ?? url);
        } catch (err) {
          log.error({ peer: hexId(id), url, err: (err as Error).message }, 'cannot dial this member; check its peer URL');
        }
      }
      for (const id of transport.peerIds()) if (!peers.has(id)) transport.removePeer(id);
    },
  });

  // ---- client and admin API ----------------------------------------------------
  divergence.start(Math.max(1000, 2 * config.electionTimeoutMs));
  const limits = { maxRequestBytes: config.maxRequestBytes, maxTxnOps: config.maxTxnOps };
  const clientTls = config.clientTls;
  const clientCertMode: ClientCertMode = !clientTls?.trustedCaFile ? 'none' : clientTls.clientCertAuth ? 'require' : 'request';
  const accessPolicy = { tls: !!clientTls, clientCertAuth: !!clientTls?.clientCertAuth, adminIdentities: config.adminAllowedIdentities };
  const clientServer = new GrpcServer({
    maxReceiveBytes: maxReceiveBytes(limits),
    keepalive: config.grpcKeepaliveIntervalMs > 0 ? { intervalMs: config.grpcKeepaliveIntervalMs, timeoutMs: config.grpcKeepaliveTimeoutMs } : undefined,
    hooks: clientCallHooks(metrics, clientAccessCheck(accessPolicy, log)),
    // Peers' broken connections are routine (debug); a handler that threw or a certificate the listener refused to load is not.
    onError: (err, where) => {
      if (where === 'tls reload') log.warn({ err }, 'the client port could not load the reloaded TLS files; it keeps serving the previous ones');
      else if (where.startsWith('handler ')) log.warn({ err, where }, 'client API handler threw');
      else log.debug({ err, where }, 'client port error');
    },
  });
  registerEtcdApi(clientServer, backend, { limits, onError: onClientApiError });
  clientServer.addService(adminServiceDefinition(), admin);
  let clientPort = 0;
  try {
    for (const u of config.listenClientUrls) {
      const tls = u.protocol === 'https:' ? { files: tlsFiles.client!, clientCertMode } : undefined;
      if (u.protocol === 'https:' && !tlsFiles.client) throw new Error(`${u.href} is https but no client TLS files are configured`);
      clientPort = await clientServer.listen({ host: u.hostname, port: Number(u.port), tls }).catch((err: Error) => {
        throw new Error(`cannot listen for clients on ${u.href}: ${err.message}`);
      });
    }
  } catch (err) {
    clientServer.forceShutdown();
    throw err;
  }
  if (!clientTls) {
    log.warn('the client port has no TLS: anyone who can reach it may read and write every key and call the admin API (see README "Security")');
  } else if (!clientTls.trustedCaFile) {
    log.warn('no --trusted-ca-file: client certificates cannot be verified, so every admin and membership-change call is refused');
  }
  if (!tlsFiles.peer) log.warn('the peer port has no TLS: member-to-member traffic is neither encrypted nor authenticated');

  // ---- metrics and health --------------------------------------------------------
  // Ready means caught up with what was committed when the previous probe asked:
  // under a steady write load the commit index is always a little ahead of apply.
  let readyMark = 0;
  const health = await startHealthServer(config.listenMetricsUrls, {
    registry: metrics.registry,
    live: () => !node.isStopped,
    notReadyReason: () => {
      if (node.isStopped) return 'raft loop stopped';
      if (node.leaderId === 0) return 'no leader known';
      const st = node.status();
      const mark = readyMark;
      readyMark = st.commit;
      if (node.kv.appliedIndex < mark) return `applying: ${node.kv.appliedIndex} of ${mark} committed entries`;
      if (backend.divergentReason) return `divergent: ${backend.divergentReason}`;
      return undefined;
    },
  });
  log.info(
    {
      client: config.listenClientUrls.map((u) => u.href),
      peer: transport.listenUrl,
      metrics: config.listenMetricsUrls.map((u) => u.href),
    },
    'replica serving',
  );

  let stopped = false;
  const handle: ReplicaHandle = {
    config,
    node,
    memberId,
    clusterId,
    clientPort,
    peerPort: Number(new URL(transport.listenUrl).port),
    metricsPort: health.ports[0],
    log,
    async stop(o = {}) {
      if (stopped) return;
      stopped = true;
      fatal = () => undefined;
      if (o.transferLeadership !== false && node.raw.raft.state === 'leader' && node.raw.raft.trk.voterIds().length > 1) {
        try {
          let best = 0;
          let bestMatch = -1;
          for (const [id, pr] of node.raw.raft.trk.progress) {
            if (id !== memberId && !pr.isLearner && node.raw.raft.trk.config.voters.has(id) && pr.match > bestMatch) {
              best = id;
              bestMatch = pr.match;
            }
          }
          if (best !== 0) {
            await node.transferLeadership(best, 2 * config.electionTimeoutMs);
            log.info({ to: hexId(best) }, 'handed leadership over before stopping');
          }
        } catch (err) {
          log.warn({ err }, 'could not hand leadership over before stopping');
        }
      }
      clientServer.forceShutdown();
      stopTls();
      divergence.stop();
      backend.close();
      await node.stop();
      await transport.close();
      await disk.close();
      await spill.close();
      await health.close();
      log.info('replica stopped');
    },
  };
  return handle;
}

/**
 * clientCallHooks observe every client and admin call's latency by method and
 * status code, and admit a call only past the client access check.
 */
function clientCallHooks(metrics: ReturnType<typeof createReplicaMetrics>, admit: CallHooks['admit']): CallHooks {
  return {
    admit: latencyTraceOn
      ? (call, method) => {
          traceMark('call', 0);
          return admit?.(call, method);
        }
      : admit,
    finished(method, code, startedMs) {
      if (latencyTraceOn) traceMark('answered', 0);
      metrics.grpcSeconds.observe(method.name, grpc.status[code] ?? String(code), (performance.now() - startedMs) / 1000);
    },
  };
}

/** discoverSelf asks the peers in --initial-cluster which id the group gave this member's peer URL. */
async function discoverSelf(config: ReplicaConfig, myPeerUrl: string, log: Logger, dialer: PeerDialer): Promise<Identity & { members: MemberRecord[] }> {
  const urls = [...config.initialCluster].filter(([name]) => name !== config.name).flatMap(([, u]) => u);
  if (urls.length === 0) throw new Error('--initial-cluster-state existing: --initial-cluster lists no other member to join through');
  const clients = urls.map((u) => membershipClient(dialer.dial(u)));
  let lastReport = 0;
  try {
    for (;;) {
      for (const c of clients) {
        const res = await c.findMember(myPeerUrl, 2000);
        if (res?.found) {
          // An empty data dir (this runs only without one) of a member the group knows as started: it lost its data.
          if (ranBefore(res, res.memberId)) throw lostDataError(config, res.memberId, res, c.target);
          log.info({ memberId: hexId(res.memberId), cluster: hexId(res.clusterId) }, 'found this member in the existing cluster');
          return {
            clusterId: res.clusterId,
            memberId: res.memberId,
            name: config.name,
            members: res.members.map((m) => ({ id: m.id, name: m.name, peerURLs: m.peerUrls, clientURLs: m.clientUrls })),
          };
        }
      }
      if (performance.now() - lastReport > 5000) {
        lastReport = performance.now();
        log.info({ peerUrl: myPeerUrl, asked: clients.map((c) => c.target) }, 'waiting to be added to the cluster (add this peer URL with the admin API or etcdctl member add)');
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    for (const c of clients) c.close();
  }
}
