// One operator process for the operator end-to-end tests, started the way the
// chart runs it (`node bin/replicant.ts operator ...`) against a localkube
// kubeconfig. Its JSON log lines are kept for assertions. Must never outlive
// its test: the owner's t.after kills it by PID (SIGKILL), also on failure.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { REPO_BIN, REPO_ROOT } from '../../localkube/kubelet/env.ts';

export interface Cleanup {
  after(fn: () => unknown): void;
}

export interface OperatorFlags {
  kubeconfig: string;
  /** leaderElect: false runs the controller at once (the default for single-operator tests). */
  leaderElect?: boolean;
  /** lease timings in seconds (client-go's 15/10/2 when unset). */
  lease?: { durationS: number; renewDeadlineS: number; retryPeriodS: number };
  leaseName?: string;
  extra?: string[];
}

/** LogLine is one pino line of the operator (fields vary by message). */
export type LogLine = Record<string, unknown> & { msg?: string; level?: number; time?: number };

export class OperatorProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly lines: LogLine[] = [];
  readonly raw: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(t: Cleanup, flags: OperatorFlags) {
    const args = [
      path.join(REPO_ROOT, 'bin', 'replicant.ts'),
      'operator',
      '--kubeconfig', flags.kubeconfig,
      '--metrics-bind-address', '127.0.0.1:0',
      '--leader-elect', String(flags.leaderElect ?? false),
      '--namespace', 'default',
      '--log-level', 'info',
    ];
    if (flags.lease) {
      args.push('--lease-duration', String(flags.lease.durationS), '--renew-deadline', String(flags.lease.renewDeadlineS), '--retry-period', String(flags.lease.retryPeriodS));
    }
    if (flags.leaseName) args.push('--leader-election-id', flags.leaseName, '--leader-election-namespace', 'default');
    args.push(...(flags.extra ?? []));
    this.child = spawn(path.join(REPO_BIN, 'node'), args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' } });
    this.pid = this.child.pid!;
    let partial = '';
    this.child.stdout!.on('data', (d: Buffer) => {
      const text = partial + d.toString();
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) this.keep(line);
    });
    this.child.stderr!.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) if (line) this.keep(line);
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    t.after(() => this.kill());
  }

  private keep(line: string): void {
    if (!line) return;
    this.raw.push(line);
    if (this.raw.length > 20_000) this.raw.splice(0, 5_000);
    try {
      this.lines.push(JSON.parse(line) as LogLine);
      if (this.lines.length > 20_000) this.lines.splice(0, 5_000);
    } catch {
      this.lines.push({ msg: line });
    }
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** kill sends SIGKILL (a crash, no lease release) and waits until the process is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.running) {
      try {
        process.kill(this.pid, signal);
      } catch {
        // already gone
      }
    }
    await this.exited;
  }

  /** actions are the actions this operator carried out (or tried), in order. */
  actions(): { action: string; key: string; msg: string; time: number }[] {
    return this.lines
      .filter((l) => typeof l.action === 'string' && typeof l.key === 'string' && l.step !== undefined)
      .map((l) => ({ action: l.action as string, key: l.key as string, msg: String(l.msg ?? ''), time: Number(l.time ?? 0) }));
  }

  /** tail renders the last log lines, for failure messages. */
  tail(n = 40): string {
    return this.raw.slice(-n).join('\n');
  }
}
