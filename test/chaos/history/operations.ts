// Pairs a history's events into register operations: each client invoke with
// the same process's next completion, decoding the EDN values into a key and
// what the operation does. Single-register values (`3`, `[1 2]` for cas) get the
// key null; keyed values are `[key value]` and `[key [from to]]`.
// It must never guess: an event it cannot pair or decode is a
// HistoryFormatError naming the line (or the event number when the events did
// not come from a file). Nemesis events are skipped: they are not client calls.
import { isVector } from './edn.ts';
import type { EdnValue } from './edn.ts';
import { HistoryFormatError } from './parse.ts';
import type { HistoryEvent, HistoryKey, OpArgs, OpName, OpStatus, Operation, RegisterValue } from './types.ts';

interface Pending {
  readonly index: number;
  readonly event: HistoryEvent;
  readonly key: HistoryKey;
  readonly args: OpArgs;
}

/** pairOperations turns events into operations ordered by invoke position. */
export function pairOperations(events: readonly HistoryEvent[], source = '<history>'): Operation[] {
  const pending = new Map<number, Pending>();
  const byInvoke = new Map<number, Operation>();
  const fail = (i: number, message: string): never => {
    throw new HistoryFormatError(source, events[i].line ?? i + 1, message);
  };

  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (e.process === 'nemesis') continue;
    const f = opName(e.f);
    if (f === undefined) fail(i, `unsupported :f :${e.f} (the register model has :read, :write and :cas)`);
    const name = f as OpName;
    const open = pending.get(e.process);

    if (e.type === 'invoke') {
      if (open) fail(i, `process ${e.process} invokes :${name} while its :${open.args.f} from ${at(open.event, open.index)} is still pending`);
      const decoded = decode(name, e.value, true);
      if (typeof decoded === 'string') fail(i, decoded);
      const { key, args } = decoded as Decoded;
      pending.set(e.process, { index: i, event: e, key, args });
      continue;
    }

    if (!open) fail(i, `process ${e.process} completes :${name} (:${e.type}) but has no pending invoke`);
    const call = open as Pending;
    if (call.args.f !== name) fail(i, `process ${e.process} completes :${name} but invoked :${call.args.f} at ${at(call.event, call.index)}`);
    pending.delete(e.process);

    let args = call.args;
    if (e.type === 'ok') {
      const decoded = decode(name, e.value, false);
      if (typeof decoded === 'string') fail(i, decoded);
      const done = decoded as Decoded;
      if (done.key !== call.key) fail(i, `:ok names key ${String(done.key)} but the invoke at ${at(call.event, call.index)} named ${String(call.key)}`);
      if (name === 'read') args = done.args;
      else if (!sameArgs(done.args, call.args)) fail(i, `:ok :${name} value differs from its invoke at ${at(call.event, call.index)}`);
    }
    byInvoke.set(call.index, operation(call, e.type as OpStatus, args, i, e));
  }
  for (const call of pending.values()) byInvoke.set(call.index, operation(call, 'info', call.args, null, undefined));

  const ordered = [...byInvoke.entries()].sort((a, b) => a[0] - b[0]).map(([, op]) => op);
  return ordered.map((op, id) => ({ ...op, id }));
}

function operation(call: Pending, status: OpStatus, args: OpArgs, complete: number | null, done: HistoryEvent | undefined): Operation {
  return {
    ...args,
    id: -1,
    process: call.event.process as number,
    key: call.key,
    status,
    invoke: call.index,
    complete,
    ...(call.event.line !== undefined ? { invokeLine: call.event.line } : {}),
    ...(done?.line !== undefined ? { completeLine: done.line } : {}),
  };
}

function at(e: HistoryEvent, index: number): string {
  return e.line !== undefined ? `line ${e.line}` : `event ${index + 1}`;
}

function opName(f: string): OpName | undefined {
  return f === 'read' || f === 'write' || f === 'cas' ? f : undefined;
}

interface Decoded {
  readonly key: HistoryKey;
  readonly args: OpArgs;
}

function isRegisterValue(v: EdnValue): v is RegisterValue {
  return v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
}

function isKey(v: EdnValue): v is number | string {
  return typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
}

/** decode reads an op value; a string result is the reason it cannot. */
function decode(f: OpName, v: EdnValue, invoke: boolean): Decoded | string {
  if (f === 'cas') {
    const pair = (x: EdnValue): OpArgs | undefined =>
      isVector(x) && x.length === 2 && isRegisterValue(x[0]) && isRegisterValue(x[1]) ? { f: 'cas', from: x[0], to: x[1] } : undefined;
    const plain = pair(v);
    if (plain) return { key: null, args: plain };
    if (isVector(v) && v.length === 2 && isKey(v[0])) {
      const keyed = pair(v[1]);
      if (keyed) return { key: v[0], args: keyed };
    }
    return ':cas value must be [from to] or [key [from to]] (from, to: nil, a number or a string)';
  }
  const scalar = (x: EdnValue): OpArgs | undefined => {
    if (!isRegisterValue(x)) return undefined;
    if (f === 'read' && invoke && x !== null) return undefined;
    return { f, value: x };
  };
  const plain = scalar(v);
  if (plain) return { key: null, args: plain };
  if (isVector(v) && v.length === 2 && isKey(v[0])) {
    const keyed = scalar(v[1]);
    if (keyed) return { key: v[0], args: keyed };
  }
  if (f === 'read' && invoke) return ':invoke :read value must be nil or [key nil]';
  return `:${f} value must be nil, a number, a string, or [key value]`;
}

function sameArgs(a: OpArgs, b: OpArgs): boolean {
  if (a.f === 'cas' && b.f === 'cas') return a.from === b.from && a.to === b.to;
  if (a.f !== 'cas' && b.f !== 'cas') return a.f === b.f && a.value === b.value;
  return false;
}
