// HistoryRecorder writes a client history while a test runs: each client
// process calls invoke() before it sends a request and ok()/fail()/info() when
// it learns the outcome, stamped with a monotonic clock. Events are kept in
// memory and, if a path is given, appended to the file as they happen, so a
// harness that dies mid-run leaves a checkable history behind.
// It must never reorder events or invent outcomes: a completion it cannot pair
// with a pending invoke is a thrown error (a harness bug), not a guess.
//
// Conventions (Jepsen's): :fail means the operation certainly did not take
// effect; :info means it may have, at any later time (a timeout, a lost
// connection). After :info a process should not be reused: give the client a
// fresh process id, since its old call may still be in flight.
import fs from 'node:fs';
import type { EdnValue } from './edn.ts';
import { formatEdnLine, formatLogLine, formatHistory } from './format.ts';
import type { HistoryFormat } from './format.ts';
import type { EventType, HistoryEvent, HistoryKey, OpArgs, RegisterValue } from './types.ts';

/** RegisterCall is what a client is about to do; omit key for Jepsen's single register. */
export type RegisterCall =
  | { readonly f: 'read'; readonly key?: HistoryKey }
  | { readonly f: 'write'; readonly key?: HistoryKey; readonly value: RegisterValue }
  | { readonly f: 'cas'; readonly key?: HistoryKey; readonly from: RegisterValue; readonly to: RegisterValue };

export interface HistoryRecorderOptions {
  /** Append each event to this file as it is recorded (created if absent, appended if present). */
  readonly path?: string;
  /** Line format of that file: Jepsen log lines (default) or EDN maps (which keep :time). */
  readonly format?: HistoryFormat;
  /** Monotonic nanosecond clock; defaults to process.hrtime.bigint. Times are relative to construction. */
  readonly clock?: () => bigint;
}

interface Open {
  readonly key: HistoryKey;
  readonly args: OpArgs;
}

/** HistoryRecorder accumulates (and optionally streams to disk) one history. */
export class HistoryRecorder {
  readonly #events: HistoryEvent[] = [];
  readonly #open = new Map<number, Open>();
  readonly #clock: () => bigint;
  readonly #start: bigint;
  readonly #format: HistoryFormat;
  #fd: number | undefined;

  constructor(options: HistoryRecorderOptions = {}) {
    this.#clock = options.clock ?? process.hrtime.bigint;
    this.#start = this.#clock();
    this.#format = options.format ?? 'log';
    if (options.path !== undefined) this.#fd = fs.openSync(options.path, 'a');
  }

  /** invoke records that `process` is calling `call` now. */
  invoke(process: number, call: RegisterCall): void {
    checkProcess(process);
    const open = this.#open.get(process);
    if (open) throw new Error(`history: process ${process} invokes ${call.f} while its ${open.args.f} is still pending`);
    const key = call.key ?? null;
    checkKey(key);
    let args: OpArgs;
    if (call.f === 'read') args = { f: 'read', value: null };
    else if (call.f === 'write') args = { f: 'write', value: checkValue(call.value) };
    else args = { f: 'cas', from: checkValue(call.from), to: checkValue(call.to) };
    this.#open.set(process, { key, args });
    this.#append(process, 'invoke', key, args);
  }

  /** ok records that the pending call of `process` took effect; a read passes the value it read. */
  ok(process: number, ...read: [] | [RegisterValue]): void {
    const open = this.#peek(process, 'ok');
    let args = open.args;
    if (args.f === 'read') {
      if (read.length === 0) throw new Error(`history: process ${process} completes a read without the value read`);
      args = { f: 'read', value: checkValue(read[0]) };
    } else if (read.length !== 0) {
      throw new Error(`history: process ${process} completes a ${args.f} with a read value`);
    }
    this.#open.delete(process);
    this.#append(process, 'ok', open.key, args);
  }

  /** fail records that the pending call of `process` certainly did not take effect. */
  fail(process: number, error?: EdnValue): void {
    const open = this.#take(process, 'fail');
    this.#append(process, 'fail', open.key, open.args, error);
  }

  /** info records that the outcome of the pending call of `process` is unknown. */
  info(process: number, error?: EdnValue): void {
    const open = this.#take(process, 'info');
    this.#append(process, 'info', open.key, open.args, error);
  }

  /** nemesis records a fault-injection event (never checked; context for readers). */
  nemesis(type: 'invoke' | 'info', f: string, value: EdnValue = null): void {
    if (!/^[^\s,\[\]{}()";:]+$/.test(f)) throw new Error(`history: nemesis :f must be a bare word, got ${JSON.stringify(f)}`);
    this.#push({ process: 'nemesis', type, f, value, time: this.#now() });
  }

  /** events is everything recorded so far, in order. */
  get events(): readonly HistoryEvent[] {
    return this.#events;
  }

  /** pending lists the processes whose last call has no outcome yet. */
  pending(): number[] {
    return [...this.#open.keys()].sort((a, b) => a - b);
  }

  /** format writes the whole history as text (default: Jepsen log lines). */
  format(format: HistoryFormat = this.#format): string {
    return formatHistory(this.#events, format);
  }

  /** close closes the file being appended to (events stay readable in memory). */
  close(): void {
    if (this.#fd !== undefined) {
      fs.closeSync(this.#fd);
      this.#fd = undefined;
    }
  }

  #peek(process: number, type: EventType): Open {
    const open = this.#open.get(process);
    if (!open) throw new Error(`history: process ${process} reports :${type} but has no pending call`);
    return open;
  }

  #take(process: number, type: EventType): Open {
    const open = this.#peek(process, type);
    this.#open.delete(process);
    return open;
  }

  #append(process: number, type: EventType, key: HistoryKey, args: OpArgs, error?: EdnValue): void {
    const v: EdnValue = args.f === 'cas' ? [args.from, args.to] : args.value;
    const value = key === null ? v : [key, v];
    this.#push({ process, type, f: args.f, value, ...(error !== undefined ? { error } : {}), time: this.#now() });
  }

  #push(e: HistoryEvent): void {
    const index = this.#events.length;
    this.#events.push(e);
    if (this.#fd !== undefined) {
      const line = this.#format === 'log' ? formatLogLine(e) : formatEdnLine(e, index);
      fs.writeSync(this.#fd, line + '\n');
    }
  }

  #now(): number {
    return Number(this.#clock() - this.#start);
  }
}

function checkProcess(p: number): void {
  if (!Number.isSafeInteger(p) || p < 0) throw new Error(`history: process must be a non-negative integer, got ${p}`);
}

function checkKey(k: HistoryKey): void {
  if (k === null || typeof k === 'string') return;
  if (!Number.isFinite(k)) throw new Error(`history: key must be a string or a finite number, got ${k}`);
}

function checkValue(v: RegisterValue): RegisterValue {
  if (v === null || typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  throw new Error(`history: register values are nil, finite numbers or strings, got ${String(v)}`);
}
