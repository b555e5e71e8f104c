// Checks a history of compare-and-set registers for linearizability. By
// P-compositionality (linearizability is local: a history is linearizable iff
// each object's sub-history is) it splits the operations per key and searches
// each key alone, which keeps every search small.
// Semantics: registers start nil; :fail operations did not happen and are
// dropped; :info (or never completed) operations may take effect at any time
// after their call, or never; a read without a value (:info/:fail) has no
// effect and is dropped.
// It must never report "linearizable" for a key it did not finish ordering.
import { pairOperations } from '../history/index.ts';
import type { HistoryEvent, HistoryKey, Operation, RegisterValue } from '../history/index.ts';
import { casRegister, NIL } from './model.ts';
import type { RegisterInput } from './model.ts';
import { searchLinearization } from './search.ts';
import type { SearchOp, SearchOptions } from './search.ts';

export type Verdict = 'linearizable' | 'not-linearizable' | 'unknown';

/**
 * StuckOperation is an operation that could be next after a prefix by real
 * time: `illegal` if the register's value forbids it, else every continuation
 * through it fails later. For a read or cas refused by the value, `writers`
 * are the operations that could have set the value it needs (nil: none).
 */
export interface StuckOperation {
  readonly op: Operation;
  readonly illegal: boolean;
  readonly writers: readonly Operation[];
}

/** Violation explains one key that is not linearizable (or could not be decided in time). */
export interface Violation {
  readonly key: HistoryKey;
  /** Operations of this key the search had to order (after dropping :fail and unanswered reads). */
  readonly checked: number;
  /** The longest sequence of operations found that respects real time and the register. */
  readonly prefix: readonly Operation[];
  /** The register's value after `prefix`. */
  readonly state: RegisterValue;
  /** The operations that could come next by real time, none of which works. */
  readonly stuck: readonly StuckOperation[];
}

export interface KeyResult {
  readonly key: HistoryKey;
  readonly verdict: Verdict;
  /** Operations the search had to order (after dropping those that cannot matter). */
  readonly checked: number;
  /** Distinct (linearized set, value) states the search visited: a measure of its effort. */
  readonly explored: number;
  /** For "unknown": the time limit ran out, or the memo reached its memory limit. */
  readonly stoppedBy?: 'deadline' | 'memory';
  /** A witness order (linearizable keys only). */
  readonly order?: readonly Operation[];
  readonly violation?: Violation;
}

export interface CheckResult {
  /** not-linearizable if any key is; else unknown if any key timed out; else linearizable. */
  readonly verdict: Verdict;
  readonly keys: readonly KeyResult[];
  readonly elapsedMs: number;
}

export interface CheckOptions {
  /** Give up (verdict "unknown") after this many milliseconds in total. */
  readonly timeoutMs?: number;
  /** Give up (verdict "unknown") when one key's memo of explored states exceeds this (default 512 MiB). */
  readonly maxMemoBytes?: number;
  /**
   * What a `:fail` cas means. `no-effect` (default, Jepsen/Knossos): it did not
   * happen and is ignored. `observed-mismatch` (Porcupine's etcd model): it
   * happened and found a value other than `from`, so a spurious compare
   * failure is caught too; only for harnesses that record `:fail` on a cas
   * solely for a compare that failed (other errors as `:info`).
   */
  readonly failedCas?: 'no-effect' | 'observed-mismatch';
  /** Stop at the first key that is not linearizable. */
  readonly stopAtFirstViolation?: boolean;
}

/** checkHistory pairs events into operations and checks them; `source` names the history in errors. */
export function checkHistory(events: readonly HistoryEvent[], options: CheckOptions & { source?: string } = {}): CheckResult {
  return checkOperations(pairOperations(events, options.source), options);
}

/** checkOperations checks paired operations, one key at a time. */
export function checkOperations(ops: readonly Operation[], options: CheckOptions = {}): CheckResult {
  const started = performance.now();
  const deadline = options.timeoutMs !== undefined ? started + options.timeoutMs : undefined;
  const keys: KeyResult[] = [];
  let verdict: Verdict = 'linearizable';
  for (const [key, keyOps] of partitionByKey(ops)) {
    const limits: SearchOptions = {
      ...(deadline !== undefined ? { deadline } : {}),
      ...(options.maxMemoBytes !== undefined ? { maxMemoBytes: options.maxMemoBytes } : {}),
    };
    const result = checkKey(key, keyOps, limits, options.failedCas === 'observed-mismatch');
    keys.push(result);
    if (result.verdict === 'not-linearizable') {
      verdict = 'not-linearizable';
      if (options.stopAtFirstViolation) break;
    } else if (result.verdict === 'unknown') {
      if (verdict === 'linearizable') verdict = 'unknown';
      if (result.stoppedBy === 'deadline') break; // the deadline is shared: later keys would time out at once
    }
  }
  return { verdict, keys, elapsedMs: performance.now() - started };
}

/** partitionByKey groups operations per key, keys in order of first appearance. */
export function partitionByKey(ops: readonly Operation[]): Map<HistoryKey, Operation[]> {
  const parts = new Map<HistoryKey, Operation[]>();
  for (const op of ops) {
    let part = parts.get(op.key);
    if (part === undefined) parts.set(op.key, (part = []));
    part.push(op);
  }
  return parts;
}

function checkKey(key: HistoryKey, all: readonly Operation[], limits: SearchOptions, failedCasObserves: boolean): KeyResult {
  // Dropped: :fail (did not happen; except cas when a failed compare is an observation),
  // and reads that never answered (no effect, nothing observed).
  const answered = all.filter((op) =>
    op.status === 'fail' ? failedCasObserves && op.f === 'cas' : !(op.f === 'read' && op.status !== 'ok'),
  );
  // A failed compare is satisfied by any other value, so it observes every write: no setting aside then.
  const ops = answered.some((op) => op.status === 'fail') ? answered : withoutUnobservedUnknowns(answered);
  const values = new Interner();
  const searchOps: SearchOp<RegisterInput>[] = ops.map((op) => ({
    call: op.invoke,
    ret: op.status !== 'info' && op.complete !== null ? op.complete : Infinity,
    input: toInput(op, values),
  }));
  const result = searchLinearization(casRegister, searchOps, limits);
  if (result.verdict === 'linearizable') {
    // Dropped unknowns go last, where taking effect or not changes nothing observed.
    const kept = new Set(ops);
    const order = [...result.order.map((i) => ops[i]), ...answered.filter((op) => !kept.has(op))];
    return { key, verdict: 'linearizable', checked: ops.length, explored: result.explored, order };
  }
  const done = new Set(result.longest);
  let firstReturn = Infinity;
  for (let i = 0; i < ops.length; i++) if (!done.has(i)) firstReturn = Math.min(firstReturn, searchOps[i].ret);
  const stuck: StuckOperation[] = [];
  for (let i = 0; i < ops.length; i++) {
    if (done.has(i) || !(searchOps[i].call < firstReturn)) continue;
    const illegal = casRegister.step(result.state, searchOps[i].input) === undefined;
    stuck.push({ op: ops[i], illegal, writers: illegal ? writersOf(needed(ops[i]), ops) : [] });
  }
  const violation: Violation = {
    key,
    checked: ops.length,
    prefix: result.longest.map((i) => ops[i]),
    state: values.value(result.state),
    stuck,
  };
  return {
    key,
    verdict: result.verdict,
    checked: ops.length,
    explored: result.explored,
    ...(result.stoppedBy ? { stoppedBy: result.stoppedBy } : {}),
    violation,
  };
}

/**
 * withoutUnobservedUnknowns drops :info writes and cas whose new value nobody
 * can observe: no :ok read returned it and no cas expects it. Such an
 * operation may as well never have happened: in any linearization that places
 * it, the register holds its value until the next write, and the only
 * operations between are unknown cas that found another value, which can all
 * move to the end (their outcome is unknown, so "after everything" is allowed).
 * Dropping them keeps the verdict and removes the 2^k subsets of floating
 * unknown writes the search would try; with unique written values (as our
 * harness writes) every unread timed-out write disappears.
 */
function withoutUnobservedUnknowns(ops: readonly Operation[]): Operation[] {
  const observed = new Set<RegisterValue>();
  for (const op of ops) {
    if (op.f === 'read') observed.add(op.value);
    else if (op.f === 'cas') observed.add(op.from);
  }
  return ops.filter((op) => op.status === 'ok' || op.f === 'read' || observed.has(op.f === 'write' ? op.value : op.to));
}

/** needed is the value an operation requires the register to hold (undefined: none). */
function needed(op: Operation): RegisterValue | undefined {
  return op.f === 'read' ? op.value : op.f === 'cas' ? op.from : undefined;
}

function writersOf(value: RegisterValue | undefined, ops: readonly Operation[]): Operation[] {
  if (value === undefined) return [];
  return ops.filter((op) => (op.f === 'write' && op.value === value) || (op.f === 'cas' && op.to === value));
}

function toInput(op: Operation, values: Interner): RegisterInput {
  switch (op.f) {
    case 'read':
      return { f: 'read', value: values.id(op.value) };
    case 'write':
      return { f: 'write', value: values.id(op.value) };
    case 'cas':
      return {
        f: 'cas',
        from: values.id(op.from),
        to: values.id(op.to),
        outcome: op.status === 'ok' ? 'swapped' : op.status === 'fail' ? 'mismatch' : 'unknown',
      };
  }
}

/** Interner maps register values to small integers, nil to NIL. */
class Interner {
  readonly #ids = new Map<RegisterValue, number>([[null, NIL]]);
  readonly #values: RegisterValue[] = [null];

  id(v: RegisterValue): number {
    let id = this.#ids.get(v);
    if (id === undefined) {
      id = this.#values.length;
      this.#ids.set(v, id);
      this.#values.push(v);
    }
    return id;
  }

  value(id: number): RegisterValue {
    return this.#values[id];
  }
}
