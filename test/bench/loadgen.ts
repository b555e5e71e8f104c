// The load generator: N concurrent clients, each with one etcd v3 request in
// flight, against the same endpoints whatever serves them (etcd or replicant).
// A run warms up, then measures a fixed window: completions inside it count
// toward throughput and latency. The failover run writes until told to stop
// and keeps a timeline of successes. Runs inside the load-generator process
// (loadgen-worker.ts), never in the process that hosts a server.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { GRPC_STATUS, GrpcCallError, LeanChannel } from './lean-grpc.ts';
import { RPC, decodeCasResponse, encodeCasTxn, encodePut, encodeRange } from './etcd-wire.ts';
import { SampleBuffer } from './latency.ts';
import { PUT_KEYSPACE, READ_KEYS, VALUE_BYTES, type Workload } from './workloads.ts';

/** LoadJob describes one measured run. */
export interface LoadJob {
  workload: Workload;
  /** host:port of client endpoints; client i starts on endpoints[i % n] and moves on after an error */
  endpoints: string[];
  warmupMs: number;
  durationMs: number;
  timeoutMs: number;
  /** HTTP/2 connections per endpoint (clients are spread over them) */
  connsPerEndpoint: number;
  /** if set, every measured request's end (Unix ms) and latency (ms) are written there, one line each */
  timelineFile?: string;
}

/** LoadResult is what one run measured. Window times are absNow() values. */
export interface LoadResult {
  workload: string;
  /** successes inside the measured window */
  ops: number;
  /** successes at any time (warmup and the tail included): a smoke run's proof that the workload works */
  completed: number;
  errors: number;
  errorKinds: Record<string, number>;
  /** cas: swaps refused because the key moved (expected only for a client's first txn) */
  casConflicts: number;
  elapsedMs: number;
  opsPerSec: number;
  samples: Float64Array;
  clientCpuMs: number;
  windowStart: number;
  windowEnd: number;
}

/** FailoverJob: write at `concurrency` until stopped, hedging slow calls onto another member. */
export interface FailoverJob {
  endpoints: string[];
  concurrency: number;
  timeoutMs: number;
  /** a call without an answer after this long is left running and the client sends another to the next member */
  hedgeAfterMs: number;
  /** most calls one client keeps in flight while hedging */
  maxInFlightPerClient: number;
  /** pause after an error before the next attempt */
  errorBackoffMs: number;
}

/** FailoverControl lets the harness ask when a write issued after a moment has succeeded. */
export interface FailoverControl {
  stopped: Promise<void>;
  /** marks are resolved with the end time of the first success of a write issued at or after `at` */
  marks: { at: number; resolve(end: number): void }[];
  /** set with the first mark (the leader was just stopped): from then on slow calls are hedged */
  hedging?: boolean;
  /** the first mark's time: calls issued from then on are counted per endpoint (FailoverTimeline.afterSignal) */
  markAt?: number;
}

/** EndpointTally counts what the writes issued after the signal did at one endpoint. */
export interface EndpointTally {
  issued: number;
  succeeded: number;
  failed: number;
  /** calls left running without an answer after hedgeAfterMs (the client moved on to the next member) */
  hedged: number;
  /** calls that never settled before the load stopped (stuck, e.g. forwarded to the dead leader) */
  unsettled: number;
  errorKinds: Record<string, number>;
}

export interface FailoverTimeline {
  /** successes as consecutive (start, end) absolute times */
  successes: Float64Array;
  errors: number;
  errorKinds: Record<string, number>;
  /** where the writes issued after the signal went, by endpoint (host:port) */
  afterSignal: Record<string, EndpointTally>;
  /** the first write issued after the signal that succeeded: where it went and when (absNow() times) */
  firstSuccessAfterSignal?: { endpoint: string; start: number; end: number };
}

/**
 * absNow is the system-wide monotonic clock (CLOCK_MONOTONIC) in ms, so times
 * taken in the harness and in the load generator compare exactly
 * (performance.timeOrigin differs between processes by up to many ms).
 */
export function absNow(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

const VALUE = crypto.randomBytes(VALUE_BYTES);

function readKey(i: number): Buffer {
  return Buffer.from(`bench/r/${String(i).padStart(6, '0')}`);
}

/** readKeyBuffers are the keys the read workloads expect (see preloadJob). */
export const READ_KEY_BUFFERS: readonly Buffer[] = Array.from({ length: READ_KEYS }, (_, i) => readKey(i));

/** Xorshift32 gives each client its own cheap, deterministic key sequence. */
class Xorshift32 {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  below(n: number): number {
    return this.next() % n;
  }
}

function errorKind(e: unknown): string {
  if (e instanceof GrpcCallError) {
    const msg = e.message.replace(/127\.\d+\.\d+\.\d+:\d+/g, 'HOST').replace(/\d+/g, 'N').slice(0, 80);
    return `${GRPC_STATUS[e.code] ?? e.code}: ${msg}`;
  }
  return `local: ${(e as Error).message?.slice(0, 80)}`;
}

function countError(kinds: Record<string, number>, e: unknown): void {
  const k = errorKind(e);
  kinds[k] = (kinds[k] ?? 0) + 1;
}

/** Channels holds connsPerEndpoint channels per endpoint; client i gets a fixed one per endpoint. */
class Channels {
  private readonly byEndpoint: LeanChannel[][];
  constructor(endpoints: string[], connsPerEndpoint: number) {
    this.byEndpoint = endpoints.map((e) => Array.from({ length: Math.max(1, connsPerEndpoint) }, () => new LeanChannel(e)));
  }
  get(endpoint: number, client: number): LeanChannel {
    const list = this.byEndpoint[endpoint % this.byEndpoint.length];
    return list[client % list.length];
  }
  get endpointCount(): number {
    return this.byEndpoint.length;
  }
  close(): void {
    for (const list of this.byEndpoint) for (const c of list) c.close();
  }
}

/** Operation issues one request of a workload for one client; resolves when it succeeded. */
type Operation = (ch: LeanChannel) => Promise<void>;

function operationFor(job: LoadJob, client: number, conflicts: { n: number }): Operation {
  const x = job.workload;
  const rng = new Xorshift32(0x2545f491 ^ (client * 0x9e3779b1));
  const t = job.timeoutMs;
  const putRandom = (ch: LeanChannel) => ch.unary(RPC.put, encodePut(Buffer.from(`bench/p/${String(rng.below(PUT_KEYSPACE)).padStart(8, '0')}`), VALUE), t);
  switch (x.kind) {
    case 'put':
      return async (ch) => {
        await putRandom(ch);
      };
    case 'range': {
      const reqs = READ_KEY_BUFFERS.map((k) => encodeRange(k, x.serializable));
      return async (ch) => {
        await ch.unary(RPC.range, reqs[rng.below(reqs.length)], t);
      };
    }
    case 'mix': {
      const reqs = READ_KEY_BUFFERS.map((k) => encodeRange(k, false));
      return async (ch) => {
        const i = rng.below(READ_KEY_BUFFERS.length);
        if (rng.below(100) < x.readPercent) await ch.unary(RPC.range, reqs[i], t);
        else await ch.unary(RPC.put, encodePut(READ_KEY_BUFFERS[i], VALUE), t);
      };
    }
    case 'cas': {
      const key = Buffer.from(`bench/cas/${String(client).padStart(4, '0')}`);
      let modRevision = 0;
      return async (ch) => {
        const r = decodeCasResponse(await ch.unary(RPC.txn, encodeCasTxn(key, modRevision, VALUE), t));
        if (!r.succeeded) conflicts.n++;
        modRevision = r.modRevision;
      };
    }
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** writeTimeline writes one line per request: its end as Unix ms (3 decimals) and its latency in ms. */
function writeTimeline(file: string, ends: Float64Array, latencies: Float64Array): void {
  const lines: string[] = [];
  for (let i = 0; i < ends.length; i++) lines.push(`${ends[i].toFixed(3)} ${latencies[i].toFixed(3)}`);
  fs.writeFileSync(file, lines.join('\n') + (lines.length > 0 ? '\n' : ''));
}

/**
 * measuredWindow calls `on('start')` after `warmupMs` and `on('end')`
 * `durationMs` later, each exactly once and in that order. The clients stop
 * by the clock, not by these timers, so they may all be done before the end
 * timer has fired: close() then ends the window at once (and opens it first
 * if it never opened), so the harness always hears both edges — without the
 * end it reads no counters after the window (the members' fsyncs of that
 * run were left out of the report).
 */
export function measuredWindow(warmupMs: number, durationMs: number, on: (phase: 'start' | 'end') => void): { close(): void } {
  let opened = false;
  let closed = false;
  const open = () => {
    if (opened) return;
    opened = true;
    on('start');
  };
  const close = () => {
    if (closed) return;
    clearTimeout(openTimer);
    clearTimeout(closeTimer);
    open();
    closed = true;
    on('end');
  };
  const openTimer = setTimeout(open, warmupMs);
  const closeTimer = setTimeout(close, warmupMs + durationMs);
  return { close };
}

/**
 * runLoad runs one measured job. `onWindow` is told when the measured window
 * opens and closes (for sampling the servers' CPU and memory).
 */
export async function runLoad(job: LoadJob, onWindow: (phase: 'start' | 'end', at: number) => void = () => undefined): Promise<LoadResult> {
  const channels = new Channels(job.endpoints, job.connsPerEndpoint);
  const samples = new SampleBuffer(1 << 16);
  const errorKinds: Record<string, number> = {};
  const conflicts = { n: 0 };
  let errors = 0;
  let ops = 0;
  let completed = 0;
  const t0 = performance.now();
  const windowStart = t0 + job.warmupMs;
  const windowEnd = windowStart + job.durationMs;
  let cpuStart: NodeJS.CpuUsage | undefined;
  let cpuEnd: NodeJS.CpuUsage | undefined;
  let absStart = 0;
  let absEnd = 0;
  const window = measuredWindow(job.warmupMs, job.durationMs, (phase) => {
    if (phase === 'start') {
      cpuStart = process.cpuUsage();
      absStart = absNow();
      onWindow('start', absStart);
    } else {
      cpuEnd = process.cpuUsage();
      absEnd = absNow();
      onWindow('end', absEnd);
    }
  });
  const timeline = job.timelineFile ? { ends: new SampleBuffer(1 << 16), latencies: new SampleBuffer(1 << 16) } : undefined;
  const client = async (i: number) => {
    const op = operationFor(job, i, conflicts);
    let endpoint = i;
    while (performance.now() < windowEnd) {
      const started = performance.now();
      try {
        await op(channels.get(endpoint, i));
        const ended = performance.now();
        completed++;
        if (started >= windowStart && ended <= windowEnd) {
          ops++;
          samples.add(ended - started);
          if (timeline) {
            timeline.ends.add(performance.timeOrigin + ended);
            timeline.latencies.add(ended - started);
          }
        }
      } catch (e) {
        const ended = performance.now();
        if (ended >= windowStart && ended <= windowEnd) {
          errors++;
          countError(errorKinds, e);
        }
        endpoint++;
        await sleep(10);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: job.workload.concurrency }, (_, i) => client(i)));
    if (timeline) writeTimeline(job.timelineFile!, timeline.ends.samples(), timeline.latencies.samples());
  } finally {
    window.close();
    channels.close();
  }
  const elapsedMs = job.durationMs;
  return {
    workload: job.workload.name,
    ops,
    completed,
    errors,
    errorKinds,
    casConflicts: conflicts.n,
    elapsedMs,
    opsPerSec: (ops / elapsedMs) * 1000,
    samples: samples.samples(),
    clientCpuMs: (cpuEnd!.user - cpuStart!.user + cpuEnd!.system - cpuStart!.system) / 1000, // both set: window.close() ran
    windowStart: absStart,
    windowEnd: absEnd,
  };
}

/** preload writes every read key once (64 clients), so reads find values. */
export async function preload(endpoints: string[], timeoutMs: number): Promise<void> {
  const channels = new Channels(endpoints, 1);
  let next = 0;
  const client = async (i: number) => {
    for (;;) {
      const k = next++;
      if (k >= READ_KEY_BUFFERS.length) return;
      let lastError: unknown;
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          await channels.get(i + attempt, i).unary(RPC.put, encodePut(READ_KEY_BUFFERS[k], VALUE), timeoutMs);
          lastError = undefined;
          break;
        } catch (e) {
          lastError = e;
          await sleep(50);
        }
      }
      if (lastError) throw new Error(`preloading read keys: ${(lastError as Error).message}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: 64 }, (_, i) => client(i)));
  } finally {
    channels.close();
  }
}

/**
 * runFailoverLoad writes random keys until `stopped` resolves: a plain
 * closed-loop load (one call in flight per client) until the harness marks
 * the moment it stopped the leader. From then on a client whose call has no
 * answer after hedgeAfterMs leaves it running and sends the next put to the
 * next member, so a request stuck on a dead leader does not hide when the
 * group is writable again.
 */
export async function runFailoverLoad(job: FailoverJob, control: FailoverControl): Promise<FailoverTimeline> {
  const { stopped, marks } = control;
  const channels = new Channels(job.endpoints, 1);
  const timeline = new SampleBuffer(1 << 16);
  const errorKinds: Record<string, number> = {};
  let errors = 0;
  let running = true;
  void stopped.then(() => {
    running = false;
    channels.close(); // calls still stuck on a dead member end now; they are not counted
  });
  const afterSignal: Record<string, EndpointTally> = {};
  // BENCH_TRACE=FILE: every write issued after the signal as [issued, ended (ms after the signal), endpoint index, outcome].
  const traceFile = process.env.BENCH_TRACE;
  const trace: (number | string)[][] | undefined = traceFile ? [] : undefined;
  let firstSuccessAfterSignal: FailoverTimeline['firstSuccessAfterSignal'];
  const tally = (endpoint: string): EndpointTally =>
    (afterSignal[endpoint] ??= { issued: 0, succeeded: 0, failed: 0, hedged: 0, unsettled: 0, errorKinds: {} });
  const client = async (i: number) => {
    const rng = new Xorshift32(0x51ed27 ^ (i * 0x9e3779b1));
    let endpoint = i;
    const inFlight = new Set<Promise<unknown>>();
    while (running) {
      if (inFlight.size >= job.maxInFlightPerClient) {
        await Promise.race(inFlight);
        continue;
      }
      const start = absNow();
      const endpointIndex = endpoint % job.endpoints.length;
      const target = job.endpoints[endpointIndex];
      const counted = control.markAt !== undefined && start >= control.markAt ? tally(target) : undefined;
      if (counted) {
        counted.issued++;
        counted.unsettled++;
      }
      let failed = false;
      const call = channels
        .get(endpoint, i)
        .unary(RPC.put, encodePut(Buffer.from(`bench/f/${String(rng.below(PUT_KEYSPACE)).padStart(8, '0')}`), VALUE), job.timeoutMs)
        .then(
          () => {
            const end = absNow();
            timeline.add(start);
            timeline.add(end);
            if (counted) {
              trace?.push([start - control.markAt!, end - control.markAt!, endpointIndex, 'ok']);
              counted.unsettled--;
              counted.succeeded++;
              if (!firstSuccessAfterSignal || end < firstSuccessAfterSignal.end) firstSuccessAfterSignal = { endpoint: target, start, end };
            }
            for (let m = marks.length - 1; m >= 0; m--) {
              if (start >= marks[m].at) marks.splice(m, 1)[0].resolve(end);
            }
          },
          (e) => {
            failed = true;
            if (!running) return;
            errors++;
            countError(errorKinds, e);
            if (counted) {
              trace?.push([start - control.markAt!, absNow() - control.markAt!, endpointIndex, errorKind(e).slice(0, 60)]);
              counted.unsettled--;
              counted.failed++;
              countError(counted.errorKinds, e);
            }
          },
        );
      const tracked = call.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      let timer: NodeJS.Timeout | undefined;
      const outcome = control.hedging
        ? await Promise.race([
            tracked.then(() => 'settled' as const),
            new Promise<'slow'>((r) => (timer = setTimeout(() => r('slow'), job.hedgeAfterMs))),
          ])
        : await tracked.then(() => 'settled' as const);
      clearTimeout(timer);
      if (outcome === 'slow') {
        if (counted) counted.hedged++;
        endpoint++;
      } else if (failed) {
        endpoint++;
        await sleep(job.errorBackoffMs);
      }
    }
    await Promise.allSettled(inFlight);
  };
  await Promise.all(Array.from({ length: job.concurrency }, (_, i) => client(i)));
  if (trace && traceFile) {
    trace.sort((a, b) => (a[0] as number) - (b[0] as number));
    fs.appendFileSync(traceFile, JSON.stringify({ endpoints: job.endpoints, calls: trace }) + '\n');
  }
  return { successes: timeline.samples(), errors, errorKinds, afterSignal, firstSuccessAfterSignal };
}
