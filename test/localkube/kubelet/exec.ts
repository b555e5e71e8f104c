// Running a command inside a container's sandbox (exec probes, exec hooks) and
// running lifecycle hooks (postStart, preStop: exec, httpGet or sleep).
// It must never leave the command running past its timeout.
import { spawn } from 'node:child_process';
import type { JsonObject } from '../store/object.ts';
import { launch } from './sandbox.ts';
import type { SandboxMode, SandboxSpec } from './sandbox.ts';
import { runProbe } from './probes.ts';
import type { ProbeResult, ProbeTarget } from './probes.ts';

export interface ExecResult {
  /** exitCode is -1 when the command timed out. */
  exitCode: number;
  output: string;
}

/** execInSandbox runs argv the way the container runs (same namespaces, mounts, env), killed after timeoutMs. */
export function execInSandbox(spec: SandboxSpec, mode: SandboxMode, pdeathsig: boolean, argv: string[], timeoutMs: number): Promise<ExecResult> {
  return new Promise((resolve) => {
    const l = launch({ ...spec, argv }, mode, pdeathsig);
    const child = spawn(l.file, l.args, { cwd: l.cwd, env: l.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    const killGroup = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      killGroup();
      resolve({ exitCode: -1, output });
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ exitCode: 127, output: err.message });
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      killGroup();
      resolve({ exitCode: code ?? (signal ? 128 : 1), output });
    });
  });
}

/** runHook runs a postStart or preStop handler within budgetMs. */
export async function runHook(hook: JsonObject, target: ProbeTarget, budgetMs: number): Promise<ProbeResult> {
  if (hook.sleep?.seconds) {
    await new Promise((r) => setTimeout(r, Math.min(budgetMs, hook.sleep.seconds * 1000)));
    return { ok: true, message: '' };
  }
  if (hook.exec?.command) {
    const r = await target.exec(hook.exec.command, budgetMs);
    return r.exitCode === 0 ? { ok: true, message: '' } : { ok: false, message: `command '${hook.exec.command.join(' ')}' exited with ${r.exitCode}: ${r.output}` };
  }
  if (hook.httpGet) return runProbe({ httpGet: hook.httpGet, timeoutSeconds: Math.max(1, budgetMs / 1000) }, target);
  return { ok: false, message: 'lifecycle hook has no handler (exec, httpGet or sleep)' };
}
