// One run of one container: a local process in its own process group (so the
// whole group can be signalled, paused and killed), with stdout/stderr going to
// the instance's log file. When the main process exits, whatever it left in its
// group is killed too, as a container runtime does with the container's cgroup.
// It must never outlive localkube: stop() in the kubelet kills every group.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LogWriter } from './logs.ts';
import type { Launch } from './sandbox.ts';
import { nowTimestamp } from '../store/object.ts';

export interface ContainerExit {
  exitCode: number;
  signal?: number;
  reason: 'Completed' | 'Error' | 'StartError';
  message?: string;
  startedAt: string;
  finishedAt: string;
  /** finishedMs and ranMs are the exact exit time and run time (the timestamps above have second resolution). */
  finishedMs: number;
  ranMs: number;
}

export interface ContainerRun {
  pid: number;
  startedAt: string;
  logFile: string;
  exited: Promise<ContainerExit>;
  /** running is true until the main process has exited. */
  readonly running: boolean;
  /** signal sends a signal to the whole process group. */
  signal(sig: NodeJS.Signals): void;
}

/** findExecutable resolves argv[0] like execvp, or returns undefined when it cannot be run. */
export function findExecutable(command: string, pathEnv: string, cwd: string): string | undefined {
  const ok = (p: string) => {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (command.includes('/')) {
    const p = path.resolve(cwd, command);
    return ok(p) ? p : undefined;
  }
  for (const dir of pathEnv.split(':')) {
    if (!dir) continue;
    const p = path.join(dir, command);
    if (ok(p)) return p;
  }
  return undefined;
}

/** failedStart is the exit of a container whose process could not be started. */
export function failedStart(message: string): ContainerExit {
  const now = nowTimestamp();
  return { exitCode: 128, reason: 'StartError', message, startedAt: '1970-01-01T00:00:00Z', finishedAt: now, finishedMs: Date.now(), ranMs: 0 };
}

/** startContainer spawns the process and wires its logs. */
export function startContainer(launch: Launch, logFile: string): ContainerRun {
  const log = new LogWriter(logFile);
  const startedAt = nowTimestamp();
  const startedMs = Date.now();
  const child = spawn(launch.file, launch.args, {
    cwd: launch.cwd,
    env: launch.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  log.attach(child.stdout, 'stdout');
  log.attach(child.stderr, 'stderr');
  let running = true;
  const pid = child.pid ?? -1;
  const killGroup = (sig: NodeJS.Signals) => {
    if (pid <= 0) return;
    try {
      process.kill(-pid, sig);
    } catch {
      // the group is gone
    }
  };
  const exited = new Promise<ContainerExit>((resolve) => {
    let settled = false;
    child.once('error', (err) => {
      if (settled) return;
      settled = true;
      running = false;
      log.write('stderr', `localkube: cannot start ${launch.file}: ${err.message}\n`);
      log.close();
      resolve({ ...failedStart(`failed to start ${launch.file}: ${err.message}`), startedAt });
    });
    child.once('exit', (code, signal) => {
      if (settled) return;
      settled = true;
      running = false;
      // Like a runtime tearing down the container's cgroup: nothing in the group survives.
      killGroup('SIGKILL');
      const signalNumber = signal ? os.constants.signals[signal] : undefined;
      const exitCode = code ?? 128 + (signalNumber ?? 0);
      const finish = () => {
        log.close();
        const finishedMs = Date.now();
        resolve({ exitCode, ...(signalNumber ? { signal: signalNumber } : {}), reason: exitCode === 0 ? 'Completed' : 'Error', startedAt, finishedAt: nowTimestamp(() => finishedMs), finishedMs, ranMs: finishedMs - startedMs });
      };
      // Wait for the pipes to drain, but not for ever (a grandchild may hold them).
      const t = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish();
      }, 1000);
      child.once('close', () => {
        clearTimeout(t);
        finish();
      });
    });
  });
  return {
    pid,
    startedAt,
    logFile,
    exited,
    get running() {
      return running;
    },
    signal: killGroup,
  };
}
