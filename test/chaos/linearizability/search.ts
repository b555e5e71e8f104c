// The Wing–Gong linearizability search with Lowe's memoisation, for the
// operations of one object (one key). Calls and returns form a time-ordered
// doubly linked list; the search repeatedly picks a pending call that can
// legally take effect next, removes ("lifts") it, and backtracks when it meets
// a return whose call has not taken effect. A cache of (set of linearized
// operations, state) pairs already explored cuts the exponential blow-up:
// two paths that linearized the same operations into the same state have the
// same future.
// It must never accept a history it has not ordered: "linearizable" comes with
// the witness order, and a deadline or the memory limit yields "unknown",
// never a guess.
import type { Model } from './model.ts';
import { ExploredStates } from './explored.ts';

/**
 * SearchOp is one operation: `call` and `ret` are positions in real time
 * (distinct, except that every unknown outcome has ret = Infinity: it may take
 * effect at any time after its call, including after everything else, which
 * is the same as never).
 */
export interface SearchOp<Input> {
  readonly call: number;
  readonly ret: number;
  readonly input: Input;
}

export type SearchResult<State> =
  | { readonly verdict: 'linearizable'; readonly order: readonly number[]; readonly explored: number }
  | {
      readonly verdict: 'not-linearizable' | 'unknown';
      /** How many distinct (linearized set, state) pairs the search visited. */
      readonly explored: number;
      /** For "unknown": what stopped the search. */
      readonly stoppedBy?: 'deadline' | 'memory';
      /** The longest sequence of operations (indices) the search managed to linearize. */
      readonly longest: readonly number[];
      /** The model's state after `longest`. */
      readonly state: State;
    };

export interface SearchOptions {
  /** performance.now() value after which the search gives up with verdict "unknown". */
  readonly deadline?: number;
  /** Memory the memo may use before the search gives up with verdict "unknown" (default 512 MiB). */
  readonly maxMemoBytes?: number;
}

const DEFAULT_MAX_MEMO_BYTES = 512 * 1024 * 1024;

const NONE = -1;
/** How often (in search steps) the deadline and the memo's size are checked. */
const LIMIT_CHECK_EVERY = 1 << 14;

/** searchLinearization finds an order of `ops` legal for `model` and consistent with real time, or shows there is none. */
export function searchLinearization<State, Input>(
  model: Model<State, Input>,
  ops: readonly SearchOp<Input>[],
  options: SearchOptions = {},
): SearchResult<State> {
  const n = ops.length;
  const init = model.init();
  if (n === 0) return { verdict: 'linearizable', order: [], explored: 0 };

  // Entries 0..2n-1: entry 2i is the call of op i, 2i+1 its return. HEAD is the list head.
  const HEAD = 2 * n;
  const byTime: number[] = [];
  for (let e = 0; e < 2 * n; e++) byTime.push(e);
  const timeOf = (e: number): number => ((e & 1) === 0 ? ops[e >> 1].call : ops[e >> 1].ret);
  for (const op of ops) {
    if (!(op.ret > op.call)) throw new Error(`search: an operation returns (${op.ret}) before it is called (${op.call})`);
  }
  // Calls before returns at equal times: touching operations count as concurrent (never a false alarm).
  byTime.sort((a, b) => timeOf(a) - timeOf(b) || (a & 1) - (b & 1) || a - b);
  const next = new Int32Array(2 * n + 1);
  const prev = new Int32Array(2 * n + 1);
  let last = HEAD;
  for (const e of byTime) {
    next[last] = e;
    prev[e] = last;
    last = e;
  }
  next[last] = NONE;

  const remove = (e: number): void => {
    next[prev[e]] = next[e];
    if (next[e] !== NONE) prev[next[e]] = prev[e];
  };
  const restore = (e: number): void => {
    next[prev[e]] = e;
    if (next[e] !== NONE) prev[next[e]] = e;
  };

  const explored = new ExploredStates<State>(n, model);
  const maxMemoBytes = options.maxMemoBytes ?? DEFAULT_MAX_MEMO_BYTES;
  const stackOps = new Int32Array(n);
  const stackStates: State[] = new Array(n);
  let depth = 0;
  let state = init;
  let longest: number[] = [];
  let longestState = init;
  let steps = 0;
  let entry = next[HEAD];

  for (;;) {
    if (next[HEAD] === NONE) return { verdict: 'linearizable', order: Array.from(stackOps), explored: explored.size };
    if (++steps % LIMIT_CHECK_EVERY === 0) {
      const stoppedBy =
        options.deadline !== undefined && performance.now() > options.deadline
          ? 'deadline'
          : explored.bytes > maxMemoBytes
            ? 'memory'
            : undefined;
      if (stoppedBy) return { verdict: 'unknown', stoppedBy, longest, state: longestState, explored: explored.size };
    }
    if (entry === NONE) throw new Error('search: ran past the last return (invariant: the list ends with a return)');
    if ((entry & 1) === 0) {
      // A call: try letting it take effect now.
      const op = entry >> 1;
      const after = model.step(state, ops[op].input);
      if (after !== undefined) {
        explored.toggle(op);
        if (explored.visit(after)) {
          stackOps[depth] = op;
          stackStates[depth] = state;
          depth++;
          state = after;
          remove(2 * op);
          remove(2 * op + 1);
          if (depth > longest.length) {
            longest = Array.from(stackOps.subarray(0, depth));
            longestState = state;
          }
          entry = next[HEAD];
          continue;
        }
        explored.toggle(op);
      }
      entry = next[entry];
    } else {
      // A return whose call has not taken effect: undo the last choice and try the next call after it.
      if (depth === 0) return { verdict: 'not-linearizable', longest, state: longestState, explored: explored.size };
      depth--;
      const op = stackOps[depth];
      state = stackStates[depth];
      explored.toggle(op);
      restore(2 * op + 1);
      restore(2 * op);
      entry = next[2 * op];
    }
  }
}
