// Public surface of test/chaos/history: the history data model, the Jepsen
// line formats (read and write), operation pairing and the recorder that the
// chaos harness writes histories with. Other folders import only from here.
// It must never grow logic of its own.
export type {
  RegisterValue,
  HistoryKey,
  EventType,
  OpName,
  OpArgs,
  OpStatus,
  HistoryEvent,
  Operation,
} from './types.ts';
export { formatRegisterValue, formatKey } from './types.ts';
export type { EdnValue, EdnKeyword, EdnSymbol, EdnMap } from './edn.ts';
export { parseEdn, formatEdn, keyword, EdnError } from './edn.ts';
export { parseHistory, readHistoryFile, HistoryFormatError } from './parse.ts';
export { formatHistory, formatLogLine, formatEdnLine } from './format.ts';
export type { HistoryFormat } from './format.ts';
export { pairOperations } from './operations.ts';
export { HistoryRecorder } from './recorder.ts';
export type { RegisterCall, HistoryRecorderOptions } from './recorder.ts';
