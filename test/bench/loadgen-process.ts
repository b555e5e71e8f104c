// The harness's handle on the load-generator process: forks it (Node 24, IPC
// with structured clone so latency arrays cross cheaply), sends jobs, relays
// window events and returns results. The process is tracked by PID and killed
// by close(), which the harness's cleanup calls also on failure. It must never
// run load in the harness's own process.
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FailoverJob, FailoverTimeline, LoadJob, LoadResult } from './loadgen.ts';
import type { WorkerReply, WorkerRequest } from './loadgen-worker.ts';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'loadgen-worker.ts');

interface Waiting {
  resolve(v: unknown): void;
  reject(e: Error): void;
  onWindow?: (phase: 'start' | 'end', at: number) => void;
  onRecovered?: (end: number) => void;
}

export class LoadGenerator {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  private exited = false;

  /** nodeFlags: extra flags for node (diagnostics such as a preload); none by default */
  constructor(nodeFlags: readonly string[] = []) {
    this.child = fork(WORKER, [], {
      execPath: process.execPath,
      execArgv: [...nodeFlags],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (m: WorkerReply) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      if (m.type === 'window') w.onWindow?.(m.phase, m.at);
      else if (m.type === 'recovered') w.onRecovered?.(m.end);
      else if (m.type === 'result') {
        this.waiting.delete(m.id);
        w.resolve(m.result);
      } else {
        this.waiting.delete(m.id);
        w.reject(new Error(`load generator: ${m.message}`));
      }
    });
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      for (const w of this.waiting.values()) w.reject(new Error(`load generator exited (${signal ?? code})`));
      this.waiting.clear();
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private request<T>(make: (id: number) => WorkerRequest, onWindow?: Waiting['onWindow']): { id: number; done: Promise<T> } {
    if (this.exited) throw new Error('load generator is not running');
    const id = this.nextId++;
    const done = new Promise<T>((resolve, reject) => this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject, onWindow }));
    this.child.send(make(id));
    return { id, done };
  }

  /** run executes one measured job; onWindow hears when the measured window opens and closes. */
  run(job: LoadJob, onWindow?: (phase: 'start' | 'end', at: number) => void): Promise<LoadResult> {
    return this.request<LoadResult>((id) => ({ type: 'run', id, job }), onWindow).done;
  }

  /** preload writes the keys the read workloads read. */
  preload(endpoints: string[], timeoutMs: number): Promise<void> {
    return this.request<void>((id) => ({ type: 'preload', id, endpoints, timeoutMs })).done;
  }

  /**
   * failover starts a write load. recoveredAfter(at) resolves with the end
   * time of the first success of a write issued at or after `at` (an
   * absNow() value); stop() ends the load and returns its timeline.
   */
  failover(job: FailoverJob): { recoveredAfter(at: number): Promise<number>; stop(): Promise<FailoverTimeline> } {
    const { id, done } = this.request<FailoverTimeline>((i) => ({ type: 'failover', id: i, job }));
    const w = this.waiting.get(id)!;
    return {
      recoveredAfter: (at) =>
        new Promise<number>((resolve) => {
          w.onRecovered = resolve;
          this.child.send({ type: 'mark', id, at } satisfies WorkerRequest);
        }),
      stop: () => {
        this.child.send({ type: 'stop', id } satisfies WorkerRequest);
        return done;
      },
    };
  }

  /** close kills the process (by PID) if it still runs. */
  close(): void {
    if (!this.exited && this.child.pid !== undefined) {
      try {
        process.kill(this.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}
