// Test oracles for the checker: an independent validator of witness orders and
// a brute-force linearizability decision for tiny histories, written straight
// from the definition (try every order of every subset of unknown-outcome
// operations) so the search can be cross-checked against it.
// It must never share code with the search it checks, and must never be used
// on more than a handful of operations (it is factorial).
import type { HistoryKey, Operation, RegisterValue } from '../history/index.ts';

/**
 * relevant is what the checker must order: no read without a value, no :fail
 * (except a failed cas when `failedCasObserves`: it then found another value).
 */
export function relevant(ops: readonly Operation[], failedCasObserves = false): Operation[] {
  return ops.filter((op) =>
    op.status === 'fail' ? failedCasObserves && op.f === 'cas' : !(op.f === 'read' && op.status !== 'ok'),
  );
}

function endOf(op: Operation): number {
  return op.status !== 'info' && op.complete !== null ? op.complete : Infinity;
}

/** applyAll replays an order on one register; undefined if some step is illegal. */
function applyAll(order: readonly Operation[]): RegisterValue | undefined {
  let v: RegisterValue = null;
  for (const op of order) {
    if (op.f === 'read') {
      if (op.value !== v) return undefined;
    } else if (op.f === 'write') {
      v = op.value;
    } else if (op.status === 'fail') {
      if (v === op.from) return undefined; // a failed compare saw another value
    } else if (v === op.from) {
      v = op.to;
    } else if (op.status === 'ok') {
      return undefined;
    }
  }
  return v;
}

/** respectsRealTime: no operation is ordered before one that returned before it was called. */
function respectsRealTime(order: readonly Operation[]): boolean {
  for (let i = 0; i < order.length; i++) {
    for (let j = i + 1; j < order.length; j++) if (endOf(order[j]) < order[i].invoke) return false;
  }
  return true;
}

/** witnessProblem says what is wrong with a claimed linearization of one key's operations, or null if it is valid. */
export function witnessProblem(ops: readonly Operation[], order: readonly Operation[], failedCasObserves = false): string | null {
  const need = relevant(ops, failedCasObserves);
  if (order.length !== need.length) return `order has ${order.length} operations, expected ${need.length}`;
  const ids = new Set(order.map((op) => op.id));
  for (const op of need) if (!ids.has(op.id)) return `operation ${op.id} missing from the order`;
  if (!respectsRealTime(order)) return 'order contradicts real time';
  if (applyAll(order) === undefined) return 'order is illegal for a register';
  return null;
}

/** bruteForceLinearizable decides one key's operations by enumeration (unknown outcomes may be left out). */
export function bruteForceLinearizable(ops: readonly Operation[], failedCasObserves = false): boolean {
  const need = relevant(ops, failedCasObserves);
  const sure = need.filter((op) => op.status !== 'info');
  const maybe = need.filter((op) => op.status === 'info');
  for (let mask = 0; mask < 1 << maybe.length; mask++) {
    const chosen = [...sure, ...maybe.filter((_, i) => (mask >> i) & 1)];
    if (somePermutation(chosen, [])) return true;
  }
  return false;
}

function somePermutation(rest: Operation[], prefix: Operation[]): boolean {
  if (rest.length === 0) return applyAll(prefix) !== undefined;
  if (applyAll(prefix) === undefined) return false;
  for (let i = 0; i < rest.length; i++) {
    const op = rest[i];
    // op may go next only if nothing still unplaced returned before op was called.
    if (rest.some((o, j) => j !== i && endOf(o) < op.invoke)) continue;
    const others = rest.slice(0, i).concat(rest.slice(i + 1));
    if (somePermutation(others, [...prefix, op])) return true;
  }
  return false;
}

/** byKey groups operations per key (test convenience). */
export function byKey(ops: readonly Operation[]): Map<HistoryKey, Operation[]> {
  const m = new Map<HistoryKey, Operation[]>();
  for (const op of ops) {
    const list = m.get(op.key) ?? [];
    list.push(op);
    m.set(op.key, list);
  }
  return m;
}
