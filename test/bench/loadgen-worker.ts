// Entry point of the load-generator process, forked by loadgen-process.ts so
// the clients never share a CPU-bound event loop with the harness or a server.
// It takes one job at a time over IPC and answers with its result. It must
// never start a server or outlive its parent (it exits when the IPC channel
// closes).
import { preload, runFailoverLoad, runLoad, type FailoverControl, type FailoverJob, type LoadJob } from './loadgen.ts';

export type WorkerRequest =
  | { type: 'run'; id: number; job: LoadJob }
  | { type: 'preload'; id: number; endpoints: string[]; timeoutMs: number }
  | { type: 'failover'; id: number; job: FailoverJob }
  | { type: 'mark'; id: number; at: number }
  | { type: 'stop'; id: number };

export type WorkerReply =
  | { type: 'window'; id: number; phase: 'start' | 'end'; at: number }
  | { type: 'recovered'; id: number; end: number }
  | { type: 'result'; id: number; result: unknown }
  | { type: 'failed'; id: number; message: string };

const failovers = new Map<number, { stop(): void; control: FailoverControl }>();

function reply(m: WorkerReply): void {
  process.send?.(m);
}

async function handle(m: WorkerRequest): Promise<void> {
  try {
    switch (m.type) {
      case 'run': {
        const result = await runLoad(m.job, (phase, at) => reply({ type: 'window', id: m.id, phase, at }));
        reply({ type: 'result', id: m.id, result });
        return;
      }
      case 'preload':
        await preload(m.endpoints, m.timeoutMs);
        reply({ type: 'result', id: m.id, result: null });
        return;
      case 'failover': {
        let stop = () => undefined as void;
        const control: FailoverControl = { stopped: new Promise<void>((r) => (stop = r)), marks: [] };
        failovers.set(m.id, { stop, control });
        const result = await runFailoverLoad(m.job, control);
        failovers.delete(m.id);
        reply({ type: 'result', id: m.id, result });
        return;
      }
      case 'mark': {
        const f = failovers.get(m.id);
        if (!f) return;
        f.control.hedging = true;
        f.control.markAt ??= m.at;
        f.control.marks.push({ at: m.at, resolve: (end) => reply({ type: 'recovered', id: m.id, end }) });
        return;
      }
      case 'stop':
        failovers.get(m.id)?.stop();
        return;
    }
  } catch (e) {
    reply({ type: 'failed', id: m.id, message: (e as Error).stack ?? String(e) });
  }
}

if (!process.send) {
  process.stderr.write('loadgen-worker: must be started by the benchmark harness (child_process.fork)\n');
  process.exit(2);
}
process.on('message', (m: WorkerRequest) => void handle(m));
process.on('disconnect', () => process.exit(0));
