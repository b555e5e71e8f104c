// The plain data of a client history: events (one per Jepsen line) and the
// operations they pair into, for compare-and-set registers addressed by key.
// It must never hold behaviour beyond tiny value helpers: parsing, writing,
// pairing and checking live in their own modules.
import type { EdnValue } from './edn.ts';

/** RegisterValue is what a register holds: nil (absent), an integer or a string. */
export type RegisterValue = null | number | string;

/**
 * HistoryKey names a register. `null` is Jepsen's single, unnamed register: its
 * events carry bare values (`:write 3`), every other key carries `[key value]`.
 */
export type HistoryKey = null | number | string;

/** EventType is Jepsen's :type: a call, or how it ended. */
export type EventType = 'invoke' | 'ok' | 'fail' | 'info';

/** OpName is Jepsen's :f for a compare-and-set register. */
export type OpName = 'read' | 'write' | 'cas';

/**
 * HistoryEvent is one line of a history, as written: the value stays raw EDN
 * so that reading and writing a file never changes it (a `:info` may carry
 * `:timed-out` instead of the operation's value). Client processes are
 * integers; Jepsen's fault injector is the process `nemesis`, whose events are
 * kept but never checked.
 */
export interface HistoryEvent {
  readonly process: number | 'nemesis';
  readonly type: EventType;
  /** 'read' | 'write' | 'cas' for clients; any name for the nemesis. */
  readonly f: string;
  readonly value: EdnValue;
  /** Jepsen's optional error (`:error` in EDN, a trailing field on a log line). */
  readonly error?: EdnValue;
  /** Nanoseconds on a monotonic clock, when known (our recorder always sets it). */
  readonly time?: number;
  /** 1-based line in the file it was read from, when it was read from a file. */
  readonly line?: number;
}

/**
 * OpArgs is what a register operation does. Reads carry the value read (nil
 * when absent, or when the read never returned); writes the value written;
 * cas the pair [from to].
 */
export type OpArgs =
  | { readonly f: 'read'; readonly value: RegisterValue }
  | { readonly f: 'write'; readonly value: RegisterValue }
  | { readonly f: 'cas'; readonly from: RegisterValue; readonly to: RegisterValue };

/** OpStatus is how an operation ended; `info` includes "never completed". */
export type OpStatus = 'ok' | 'fail' | 'info';

/**
 * Operation is an invoke paired with its completion. `invoke` and `complete`
 * are positions in the event list (complete = null when the history ends
 * first); a call precedes another in real time iff its `complete` is smaller
 * than the other's `invoke`.
 */
export type Operation = OpArgs & {
  readonly id: number;
  readonly process: number;
  readonly key: HistoryKey;
  readonly status: OpStatus;
  readonly invoke: number;
  readonly complete: number | null;
  readonly invokeLine?: number;
  readonly completeLine?: number;
};

/** formatRegisterValue is the compact EDN form used in messages: nil, 3, "x". */
export function formatRegisterValue(v: RegisterValue): string {
  return v === null ? 'nil' : typeof v === 'number' ? String(v) : JSON.stringify(v);
}

/** formatKey is the compact form of a key in messages; the unnamed register is "register". */
export function formatKey(k: HistoryKey): string {
  return k === null ? 'register' : `key ${formatRegisterValue(k)}`;
}
