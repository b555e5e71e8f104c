// Helpers for tests that use localkube: start one per test file (stopped by
// t.after even on failure), run the real kubectl against it, and poll for a
// condition with a deadline. It must never sleep in place of a condition.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startLocalkube } from './localkube.ts';
import type { Localkube, LocalkubeOptions } from './localkube.ts';

interface AfterHook {
  after(fn: () => unknown): void;
}

/** withLocalkube starts localkube for a test (or suite) and stops it afterwards. */
export async function withLocalkube(t: AfterHook, options: LocalkubeOptions = {}): Promise<Localkube> {
  const lk = await startLocalkube(options);
  t.after(() => lk.stop());
  return lk;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** kubectlEnv is the environment kubectl runs with: the localkube kubeconfig and a private cache. */
export function kubectlEnv(lk: Localkube): NodeJS.ProcessEnv {
  const cache = path.join(lk.dataDir, 'kubectl-cache');
  fs.mkdirSync(cache, { recursive: true });
  return { ...process.env, KUBECONFIG: lk.kubeconfigPath, KUBECACHEDIR: cache, HOME: lk.dataDir };
}

/** runCollecting runs a command to its end with `input` on stdin, collecting its exit code and output. */
export function runCollecting(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string }, input?: string): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    // a command that exits before reading its input (helm refusing bad values) closes the pipe: EPIPE
    // here is not the test's failure; the exit code and output say what happened
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

/** kubectl runs the real kubectl; input is written to its stdin (e.g. for -f -). */
export function kubectl(lk: Localkube, args: string[], input?: string): Promise<KubectlResult> {
  return runCollecting('kubectl', args, { env: kubectlEnv(lk) }, input);
}

/** kubectlOk runs kubectl and fails with its output unless it exits 0. */
export async function kubectlOk(lk: Localkube, args: string[], input?: string): Promise<string> {
  const r = await kubectl(lk, args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

/** StreamingProcess is a long-running command (kubectl get -w) whose output a test reads as it comes. */
export interface StreamingProcess {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** kubectlStream starts kubectl without waiting; stop() kills it by PID. */
export function kubectlStream(t: AfterHook, lk: Localkube, args: string[]): StreamingProcess {
  const child = spawn('kubectl', args, { env: kubectlEnv(lk), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  t.after(stop);
  return { child, output: () => out, stop };
}

/** waitFor polls check until it returns a value other than undefined, null or false, or fails after timeoutMs. */
export async function waitFor<T>(what: string, check: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 15000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== null && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** processAlive tells whether a PID is still in the process table (and not a zombie). */
export function processAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}

/** tempDir makes a temporary directory removed after the test. */
export function tempDir(t: AfterHook, prefix = 'localkube-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}
