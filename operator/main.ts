// The operator process: flags → Kubernetes clients → Lease leader election →
// the reconcile controller, with /metrics, /healthz and /readyz. Only the
// replica holding the lease reconciles; losing the lease ends the process
// (its pod restarts as a standby), like client-go's leader election.
import http from 'node:http';
import os from 'node:os';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { loadKube, describeError } from './kube/client.ts';
import { Controller } from './kube/controller.ts';
import { LeaderElector, CLIENT_GO_TIMING } from './kube/leader-election.ts';
import { KubeLeaseStore } from './kube/lease-store.ts';
import { createOperatorMetrics } from './metrics.ts';

const USAGE = `usage: replicant operator [flags]

  --kubeconfig PATH               kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)
  --namespace NS                  watch only this namespace (default: all namespaces)
  --leader-elect true|false       elect one active operator through a Lease (default true)
  --leader-election-namespace NS  namespace of the Lease (default: $POD_NAMESPACE or "default")
  --leader-election-id NAME       name of the Lease (default "replicant-operator")
  --lease-duration S              lease duration in seconds (default 15)
  --renew-deadline S              renew deadline in seconds (default 10)
  --retry-period S                retry period in seconds (default 2)
  --metrics-bind-address HOST:PORT  /metrics /healthz /readyz (default 0.0.0.0:8080)
  --workers N                     groups reconciled in parallel (default 4)
  --replica-args-prefix ARGS      words before the replica flags in member pods (default "replica")
  --cluster-domain DOMAIN         cluster DNS domain (default cluster.local)
  --manage-network-policies       keep a NetworkPolicy per group opening the peer port 2380 to the
                                  group's own members only (with the chart's networkPolicy.enabled)
  --enable-replica-fault-injection  TEST ONLY: members start with --enable-fault-injection, so their
                                  state can be corrupted through the admin API (never in production)
  --log-level LEVEL               debug, info, warn or error (default info)
  --help
`;

function fail(msg: string): never {
  process.stderr.write(`replicant operator: ${msg}\n(see --help)\n`);
  process.exit(2);
}

let values: Record<string, string | boolean | undefined>;
try {
  ({ values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      kubeconfig: { type: 'string' },
      namespace: { type: 'string' },
      'leader-elect': { type: 'string' },
      'leader-election-namespace': { type: 'string' },
      'leader-election-id': { type: 'string' },
      'lease-duration': { type: 'string' },
      'renew-deadline': { type: 'string' },
      'retry-period': { type: 'string' },
      'metrics-bind-address': { type: 'string' },
      workers: { type: 'string' },
      'replica-args-prefix': { type: 'string' },
      'cluster-domain': { type: 'string' },
      'enable-replica-fault-injection': { type: 'boolean' },
      'manage-network-policies': { type: 'boolean' },
      'log-level': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  }));
} catch (e) {
  fail((e as Error).message.split('\n')[0]);
}
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const str = (k: string) => values[k] as string | undefined;
const num = (k: string, def: number, min: number) => {
  const v = str(k);
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) fail(`--${k}: ${JSON.stringify(v)} must be a number >= ${min}`);
  return n;
};
const level = str('log-level') ?? 'info';
if (!['debug', 'info', 'warn', 'error'].includes(level)) fail('--log-level must be debug, info, warn or error');
const leaderElect = (str('leader-elect') ?? 'true') === 'true';
if (!['true', 'false'].includes(str('leader-elect') ?? 'true')) fail('--leader-elect must be true or false');
const timing = {
  leaseDurationMs: num('lease-duration', CLIENT_GO_TIMING.leaseDurationMs / 1000, 1) * 1000,
  renewDeadlineMs: num('renew-deadline', CLIENT_GO_TIMING.renewDeadlineMs / 1000, 0.1) * 1000,
  retryPeriodMs: num('retry-period', CLIENT_GO_TIMING.retryPeriodMs / 1000, 0.05) * 1000,
};
if (!(timing.leaseDurationMs > timing.renewDeadlineMs && timing.renewDeadlineMs > timing.retryPeriodMs)) {
  fail('need --lease-duration > --renew-deadline > --retry-period');
}
const bind = str('metrics-bind-address') ?? '0.0.0.0:8080';
const m = /^(.*):(\d+)$/.exec(bind);
if (!m) fail(`--metrics-bind-address: ${JSON.stringify(bind)} must be HOST:PORT`);
const identity = `${os.hostname()}_${process.pid}`;
const log = pino({ level, base: { component: 'operator', identity } });

let kube;
try {
  kube = loadKube(str('kubeconfig'));
} catch (e) {
  process.stderr.write(`replicant operator: ${(e as Error).message}\n`);
  process.exit(1);
}
const metrics = createOperatorMetrics();
const controller = new Controller({
  kube,
  log,
  metrics,
  namespace: str('namespace'),
  identity,
  workers: num('workers', 4, 1),
  planner: {
    argsPrefix: (str('replica-args-prefix') ?? 'replica').split(/\s+/).filter(Boolean),
    clusterDomain: str('cluster-domain') ?? 'cluster.local',
    replicaFaultInjection: values['enable-replica-fault-injection'] === true,
    networkPolicies: values['manage-network-policies'] === true,
  },
});

let started = false;
let leading = !leaderElect;
const server = http.createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  if (path === '/metrics') {
    metrics.registry.metrics().then((t) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(t));
  } else if (path === '/healthz') {
    res.writeHead(200).end('ok\n');
  } else if (path === '/readyz') {
    // A standby is ready too: it is healthy and waiting for the lease.
    res.writeHead(started || !leading ? 200 : 503).end(started ? 'ok\n' : 'standby\n');
  } else {
    res.writeHead(404).end('not found: try /metrics, /healthz or /readyz\n');
  }
});
await new Promise<void>((resolve, reject) => {
  server.once('error', (e) => reject(new Error(`cannot listen on ${bind}: ${e.message}`)));
  server.listen(Number(m![2]), m![1] || '0.0.0.0', () => resolve());
}).catch((e) => {
  process.stderr.write(`replicant operator: ${(e as Error).message}\n`);
  process.exit(1);
});

async function startController(): Promise<void> {
  if (started) return;
  started = true;
  metrics.leader.set(1);
  await controller.start();
  log.info({ namespace: str('namespace') ?? '(all)' }, 'reconciling ReplicaGroups');
}

let elector: LeaderElector | undefined;
if (leaderElect) {
  const ns = str('leader-election-namespace') ?? process.env.POD_NAMESPACE ?? 'default';
  elector = new LeaderElector({
    identity,
    store: new KubeLeaseStore(kube.coordination, ns, str('leader-election-id') ?? 'replicant-operator'),
    timing,
    log,
    onStartedLeading: () => {
      leading = true;
      startController().catch((e) => {
        log.error({ err: describeError(e) }, 'controller failed to start');
        process.exit(1);
      });
    },
    onStoppedLeading: () => {
      log.error('lost the leader lease; exiting so a standby takes over');
      process.exit(1);
    },
    onNewLeader: (who) => log.info({ leader: who }, 'leader is'),
  });
  elector.start();
  metrics.leader.set(0);
} else {
  await startController();
}

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'stopping');
  const force = setTimeout(() => process.exit(1), 10_000);
  force.unref();
  await controller.stop().catch(() => undefined);
  await elector?.stop();
  server.closeAllConnections();
  server.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
