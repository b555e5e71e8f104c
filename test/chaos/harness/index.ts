// Public surface of the chaos harness: one run (runChaos) from parsed options,
// the option parser and usage text, and the summary's shape and text form.
// It must never grow logic of its own; other folders import only from here.
export { runChaos, defaultOutDir } from './run.ts';
export { parseChaosArgs, CHAOS_USAGE } from './options.ts';
export type { ChaosOptions } from './options.ts';
export { formatSummary } from './summary.ts';
export type { ChaosSummary } from './summary.ts';
export { failureOutcome } from './outcome.ts';
export type { FailureOutcome } from './outcome.ts';
export { NEMESIS_NAMES, parseNemesisList } from './nemesis/index.ts';
