// `npm start`: the embedded default. Starts localkube (3 nodes), the operator
// (when operator/main.ts exists) as a local process, applies the CRDs in crds/
// and examples/replicagroup.yaml (when they exist), prints the KUBECONFIG to
// use, and stops everything on Ctrl-C / SIGTERM.
// It must never leave a process behind: the operator is killed by PID and
// localkube kills every pod process it started.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadAllYaml } from '@kubernetes/client-node';
import { startLocalkube } from './localkube.ts';
import { stopWhenOrphaned } from './orphan.ts';
import type { Localkube } from './localkube.ts';
import { REPO_BIN, REPO_ROOT } from './kubelet/env.ts';
import type { KubeObject } from './store/object.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);

/** applyFile server-side-applies every document of a YAML file (CRDs first wait until established). */
export async function applyFile(lk: Localkube, file: string): Promise<string[]> {
  const docs = loadAllYaml(fs.readFileSync(file, 'utf8')).filter((d): d is KubeObject => !!d && typeof d === 'object');
  const applied: string[] = [];
  for (const doc of docs) {
    if (typeof doc.apiVersion !== 'string' || typeof doc.kind !== 'string' || !doc.metadata?.name) {
      throw new Error(`${file}: every document needs apiVersion, kind and metadata.name`);
    }
    const type = await waitForType(lk, doc.apiVersion, doc.kind, file);
    const ns = type.namespaced ? (doc.metadata.namespace ?? 'default') : '';
    lk.api.patch(type, ns, doc.metadata.name, 'apply', doc, { fieldManager: 'localkube-start', version: doc.apiVersion.split('/').pop(), fieldValidation: 'Strict', force: true });
    applied.push(`${type.plural}/${doc.metadata.name}`);
  }
  return applied;
}

async function waitForType(lk: Localkube, apiVersion: string, kind: string, file: string) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const type = lk.api.kinds.byApiVersionKind(apiVersion, kind);
    if (type) return type;
    if (Date.now() > deadline) throw new Error(`${file}: the server has no kind ${kind} in ${apiVersion} (is its CRD applied?)`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      nodes: { type: 'string', default: '3' },
      kubeconfig: { type: 'string', default: path.join(REPO_ROOT, '.tmp', 'localkube', 'kubeconfig') },
      state: { type: 'string' },
    },
    strict: true,
  });
  const replica = path.join(REPO_ROOT, 'replica', 'main.ts');
  const operatorMain = path.join(REPO_ROOT, 'operator', 'main.ts');
  const imageMap: Record<string, string[]> = {};
  if (fs.existsSync(replica)) imageMap.replicant = [path.join(REPO_BIN, 'node'), replica];
  const lk = await startLocalkube({
    port: Number(values.port),
    nodes: Number(values.nodes),
    kubeconfigPath: values.kubeconfig,
    stateFile: values.state,
    imageMap,
  });
  let operator: ChildProcess | undefined;
  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    say(`\nlocalkube: ${why}, stopping`);
    await stopChild(operator);
    await lk.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGHUP', () => void stop('SIGHUP'));
  stopWhenOrphaned(() => void stop('the parent process exited'));

  say(`localkube serving ${lk.url} with ${values.nodes} nodes (pod addresses 127.${lk.network.block}.x.y)`);
  try {
    const crdDir = path.join(REPO_ROOT, 'crds');
    if (fs.existsSync(crdDir)) {
      for (const f of fs.readdirSync(crdDir).filter((n) => /\.ya?ml$/.test(n)).sort()) say(`applied ${(await applyFile(lk, path.join(crdDir, f))).join(', ')}`);
    }
    if (fs.existsSync(operatorMain)) {
      // The image map runs replica/main.ts directly, so member pods need no "replica" subcommand.
      operator = spawn(path.join(REPO_BIN, 'node'), [operatorMain, '--metrics-bind-address', '127.0.0.1:0', '--replica-args-prefix', ''], {
        cwd: REPO_ROOT,
        env: { ...process.env, KUBECONFIG: lk.kubeconfigPath },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      operator.on('exit', (code, signal) => {
        if (!stopping) say(`localkube: the operator exited (${signal ?? code}); the control plane keeps running`);
      });
      say(`started the operator (pid ${operator.pid})`);
    } else {
      say('no operator/main.ts yet: running the control plane alone');
    }
    const example = path.join(REPO_ROOT, 'examples', 'replicagroup.yaml');
    if (fs.existsSync(example)) say(`applied ${(await applyFile(lk, example)).join(', ')}`);
  } catch (err) {
    say(`localkube: ${(err as Error).message}`);
  }
  say('');
  say(`export KUBECONFIG=${lk.kubeconfigPath}`);
  say('then: kubectl get nodes,pods -A   (Ctrl-C stops everything)');
}

await main();
