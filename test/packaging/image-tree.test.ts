// The image, without a Docker engine: static checks of the Dockerfile (Node
// 24 slim base, production-only dependencies, numeric non-root user, OCI
// labels, no HEALTHCHECK), then the same file tree the Dockerfile builds
// (its COPY set through .dockerignore, `npm ci --omit=dev` into a temp dir,
// preferring the local npm cache, the sources compiled to JavaScript by
// scripts/build-js.ts) and both entrypoints run from that tree,
// so a file missing from the image or a dev-only import fails here. A
// one-member replica is started from the tree too: the replica loads its
// .proto files only when it serves, which --help alone would not show.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImageTree, treeBytes, type ImageTree } from './image-tree.ts';
import { parseDockerfile } from './dockerfile.ts';
import { pickSubnet, waitFor } from '../e2e/replica-cluster.ts';
import { EtcdClient } from '../e2e/etcd-client.ts';
import { REPLICA_NODE_ENV, REPLICA_NODE_FLAGS } from '../../replica/node-flags.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DOCKERFILE = fs.readFileSync(path.join(REPO, 'Dockerfile'), 'utf8');
const PACKAGE = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/**
 * OPERATOR_BUILT: the operator entrypoint is expected to work exactly when
 * operator/main.ts exists in the sources. Until then `replicant operator`
 * must say, in one line and with exit status 3, that this build lacks it.
 */
const OPERATOR_BUILT = fs.existsSync(path.join(REPO, 'operator/main.ts'));

let out: string;
let tree: ImageTree;
let buildMs = 0;

before(() => {
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-image-'));
  const started = performance.now();
  tree = buildImageTree(REPO, out, {
    npm_config_prefer_offline: 'true',
    npm_config_update_notifier: 'false',
    npm_config_loglevel: 'error',
  });
  buildMs = performance.now() - started;
});

after(() => {
  if (out) fs.rmSync(out, { recursive: true, force: true });
});

/** entrypoint runs the final stage's ENTRYPOINT with args, from its WORKDIR, with the image's ENV only. */
function entrypoint(args: string[]) {
  const [cmd, ...base] = tree.final.entrypoint!;
  assert.equal(cmd, 'node', 'the entrypoint runs node directly');
  return spawnSync(process.execPath, [...base, ...args], {
    cwd: tree.hostWorkdir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...tree.final.env },
    encoding: 'utf8',
    timeout: 90_000,
  });
}

test('Dockerfile: multi-stage on Node 24 slim, production deps, non-root, labelled, no HEALTHCHECK', () => {
  const df = parseDockerfile(DOCKERFILE);
  assert.ok(df.stages.length >= 2, 'multi-stage');
  for (const s of df.stages) assert.match(s.base, /^node:24(\.\d+){0,2}(-[a-z]+)?-slim(@sha256:[0-9a-f]{64})?$/, `stage ${s.index} base ${s.base}`);
  assert.doesNotMatch(DOCKERFILE, /^\s*HEALTHCHECK\b/im, 'Kubernetes probes do health checking');
  const builders = df.stages.slice(0, -1).flatMap((s) => s.steps.filter((x) => x.kind === 'RUN').map((x) => x.command));
  assert.ok(builders.some((c) => /\bnpm ci\b.*--omit=dev/.test(c)), 'dependencies installed with npm ci --omit=dev');
  const final = df.stages[df.stages.length - 1];
  assert.ok(!final.steps.some((s) => s.kind === 'RUN'), 'the final stage runs nothing at build time');
  assert.match(final.user ?? '', /^[1-9]\d*(:\d+)?$/, 'a numeric non-root USER (runAsNonRoot can only verify numbers)');
  for (const k of ['title', 'description', 'licenses', 'version', 'revision', 'created']) {
    assert.ok(final.labels[`org.opencontainers.image.${k}`], `OCI label org.opencontainers.image.${k}`);
  }
  assert.equal(final.labels['org.opencontainers.image.licenses'], 'Apache-2.0');
  // node gets the replica's V8 flags (replica/node-flags.ts) before the entry point.
  assert.deepEqual(final.entrypoint, ['node', ...REPLICA_NODE_FLAGS, 'bin/replicant.js']);
  assert.equal(final.env.NODE_ENV, 'production');
  // ... and the environment it needs (REPLICA_NODE_ENV).
  for (const [k, v] of Object.entries(REPLICA_NODE_ENV)) assert.equal(final.env[k], v, `ENV ${k}`);
  // A build argument reaches the labels (so CI can stamp the revision).
  const stamped = parseDockerfile(DOCKERFILE, { REVISION: 'abc123' });
  assert.equal(stamped.stages.at(-1)!.labels['org.opencontainers.image.revision'], 'abc123');
});

test('image tree: runtime sources only, runtime dependencies only', () => {
  const files = new Set(tree.contextFiles);
  for (const f of ['package.json', 'bin/replicant.ts', 'replica/main.ts', 'proto/admin.proto', 'proto/etcd/rpc.proto', 'proto/peer.proto']) {
    assert.ok(files.has(f), `${f} is in the build context`);
  }
  for (const f of tree.contextFiles) {
    assert.doesNotMatch(f, /\.test\.ts$|(^|\/)(testdata|testing|node_modules|\.git)(\/|$)|^test\//, `${f} must not be in the image`);
  }
  if (OPERATOR_BUILT) assert.ok(files.has('operator/main.ts'), 'operator/main.ts is in the build context');
  // The image runs JavaScript (scripts/build-js.ts in the build stage): no TypeScript
  // source is left for node to strip at start.
  const shipped = fs.readdirSync(tree.hostWorkdir, { recursive: true, encoding: 'utf8' }).filter((f) => !f.startsWith('node_modules'));
  assert.deepEqual(shipped.filter((f) => f.endsWith('.ts')), [], 'no .ts file outside node_modules');
  for (const f of ['bin/replicant.js', 'replica/main.js', 'proto/peer.proto', 'package.json']) assert.ok(shipped.includes(f), `${f} is in the image`);
  if (OPERATOR_BUILT) assert.ok(shipped.includes('operator/main.js'), 'operator/main.js is in the image');
  const modules = path.join(tree.hostWorkdir, 'node_modules');
  for (const dep of Object.keys(PACKAGE.dependencies)) {
    assert.ok(fs.existsSync(path.join(modules, dep, 'package.json')), `runtime dependency ${dep} installed`);
  }
  // Everything the lockfile marks dev-only (devDependencies and what only
  // they need) stays out; @types/node, say, is dev for us but a runtime
  // dependency of @kubernetes/client-node, so the lockfile decides.
  const lock = JSON.parse(fs.readFileSync(path.join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  const devOnly = Object.entries(lock.packages).filter(([p, meta]) => p.startsWith('node_modules/') && meta.dev === true);
  assert.ok(devOnly.length > 0, 'the lockfile marks dev-only packages');
  for (const dep of Object.keys(PACKAGE.devDependencies)) {
    assert.ok(devOnly.some(([p]) => p === `node_modules/${dep}`) || lock.packages[`node_modules/${dep}`]?.dev !== true, dep);
  }
  for (const [p] of devOnly) {
    assert.ok(!fs.existsSync(path.join(tree.hostWorkdir, p)), `dev-only package ${p} must not be in the image`);
  }
  for (const dep of ['typescript', 'fast-check', 'etcd3', 'node']) {
    assert.ok(!fs.existsSync(path.join(modules, dep)), `dev tool ${dep} must not be in the image`);
  }
  const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
  const all = treeBytes(tree.root);
  const deps = treeBytes(modules);
  process.stdout.write(`# image tree: ${mb(all)} MiB on top of the base image (node_modules ${mb(deps)} MiB, ${tree.contextFiles.length} context files), built in ${(buildMs / 1000).toFixed(1)} s\n`);
  assert.ok(all < 120 * 1024 * 1024, `image layers stay small (${mb(all)} MiB)`);
});

test('entrypoint: --help lists both commands; an unknown command is a one-line error, exit 2', () => {
  const help = entrypoint(['--help']);
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^usage: replicant <command>/);
  assert.match(help.stdout, /\breplica\b/);
  assert.match(help.stdout, /\boperator\b/);
  // CMD is --help: a bare `docker run IMAGE` prints the usage.
  assert.deepEqual(tree.final.cmd, ['--help']);

  const bad = entrypoint(['frobnicate']);
  assert.equal(bad.status, 2);
  assert.equal(bad.stdout, '');
  assert.equal(bad.stderr.trimEnd().split('\n').length, 1, bad.stderr);
  assert.match(bad.stderr, /unknown command "frobnicate"/);

  const none = entrypoint([]);
  assert.equal(none.status, 2);
  assert.match(none.stderr, /^usage: replicant/);
});

test('entrypoint: replica --help from the image tree', () => {
  const r = entrypoint(['replica', '--help']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^usage: replicant replica \[flags\]/);
  assert.match(r.stdout, /--initial-cluster /);
  const bad = entrypoint(['replica', '--no-such-flag']);
  assert.equal(bad.status, 2, 'a bad replica flag exits 2');
  assert.match(bad.stderr, /^replicant replica: /);
});

test(`entrypoint: operator --help from the image tree (${OPERATOR_BUILT ? 'operator/main.ts exists: must work' : 'operator/main.ts absent: must report "not available", exit 3'})`, () => {
  const r = entrypoint(['operator', '--help']);
  if (OPERATOR_BUILT) {
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /usage: replicant operator/);
  } else {
    assert.equal(r.status, 3, r.stderr);
    assert.equal(r.stderr, 'replicant: the operator command is not available in this build (operator/main.ts is missing)\n');
  }
});

test('entrypoint: a one-member replica serves from the image tree and stops cleanly on SIGTERM', async (t) => {
  const ip = `${pickSubnet()}.1`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-image-data-'));
  t.after(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const [, ...base] = tree.final.entrypoint!;
  const args = [
    ...base, 'replica',
    '--name', 'solo',
    '--data-dir', path.join(dataDir, 'solo'),
    '--listen-client-urls', `http://${ip}:2379`,
    '--listen-peer-urls', `http://${ip}:2380`,
    '--listen-metrics-urls', `http://${ip}:2381`,
    '--initial-cluster', `solo=http://${ip}:2380`,
    '--initial-cluster-state', 'new',
  ];
  const proc = spawn(process.execPath, args, {
    cwd: tree.hostWorkdir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...tree.final.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log: string[] = [];
  proc.stdout.on('data', (d: Buffer) => log.push(d.toString()));
  proc.stderr.on('data', (d: Buffer) => log.push(d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  t.after(() => {
    if (proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid!, 'SIGKILL');
  });
  const client = new EtcdClient(`${ip}:2379`, 5000);
  t.after(() => client.close());
  try {
    await waitFor('the replica to be ready', async () => (await fetch(`http://${ip}:2381/readyz`)).ok, 60_000);
    await client.put('image/key', 'from the image tree');
    const got = await client.get('image/key');
    assert.equal(got?.value, 'from the image tree');
    const metrics = await (await fetch(`http://${ip}:2381/metrics`)).text();
    assert.match(metrics, /^replicant_raft_is_leader\{member="solo"\} 1$/m);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n--- replica log\n${log.join('').slice(-3000)}`);
  }
  process.kill(proc.pid!, 'SIGTERM');
  assert.equal(await exited, 0, `clean exit on SIGTERM\n${log.join('').slice(-2000)}`);
});
