// Sequential specifications for the linearizability search, Porcupine style:
// a model is an initial state, a step function and state hashing/equality.
// The register model here is one compare-and-set register whose values have
// been interned to small integers (0 = nil, absent), so states compare fast.
// It must never keep state of its own: step is a pure function of its inputs,
// because the search calls it speculatively and backtracks.

/** Model is a sequential object: `step` answers the next state, or undefined if the call is illegal there. */
export interface Model<State, Input> {
  init(): State;
  step(state: State, input: Input): State | undefined;
  /** hash must agree with equal: equal states hash equal (any 32-bit integer). */
  hash(state: State): number;
  equal(a: State, b: State): boolean;
}

/**
 * RegisterInput is one call on an interned register, with what it returned:
 * a read's value, or a cas's outcome: `swapped` (it found `from`), `mismatch`
 * (it found another value and changed nothing) or `unknown` (either).
 * Writes need no outcome: a write that happened always sets the value.
 */
export type RegisterInput =
  | { readonly f: 'read'; readonly value: number }
  | { readonly f: 'write'; readonly value: number }
  | { readonly f: 'cas'; readonly from: number; readonly to: number; readonly outcome: CasOutcome };

export type CasOutcome = 'swapped' | 'mismatch' | 'unknown';

/** NIL is the interned id of nil: the value of a register nobody has written. */
export const NIL = 0;

/** casRegister is the model of one etcd key used as a compare-and-set register. */
export const casRegister: Model<number, RegisterInput> = {
  init: () => NIL,
  step(state, input) {
    switch (input.f) {
      case 'read':
        return input.value === state ? state : undefined;
      case 'write':
        return input.value;
      case 'cas':
        if (state === input.from) return input.outcome === 'mismatch' ? undefined : input.to;
        return input.outcome === 'swapped' ? undefined : state;
    }
  },
  hash: (state) => Math.imul(state + 1, 0x9e3779b1),
  equal: (a, b) => a === b,
};
