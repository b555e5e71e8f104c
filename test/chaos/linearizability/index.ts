// Public surface of test/chaos/linearizability: the checker for histories of
// compare-and-set registers (per-key Wing–Gong/Lowe search), the generic
// search for other models, and the violation explainer.
// It must never grow logic of its own; other folders import only from here.
export { checkHistory, checkOperations, partitionByKey } from './check.ts';
export type { CheckOptions, CheckResult, KeyResult, Verdict, Violation, StuckOperation } from './check.ts';
export { explainResult, explainViolation, describeOperation, positionOf } from './explain.ts';
export { searchLinearization } from './search.ts';
export type { SearchOp, SearchOptions, SearchResult } from './search.ts';
export { casRegister, NIL } from './model.ts';
export type { Model, RegisterInput, CasOutcome } from './model.ts';
