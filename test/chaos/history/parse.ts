// Reads a history file into events. Two line formats, freely mixed:
//   Jepsen log lines   `INFO  jepsen.util - 3	:invoke	:cas	[1 2]` (any text may
//                      precede `jepsen.util - `; bare `3 :invoke :cas [1 2]` works too)
//   Jepsen EDN maps    `{:type :invoke, :f :cas, :value [1 2], :process 3, :time 12}`
// Blank lines and `;` comment lines are skipped.
// It must never skip or reinterpret a line it does not understand: every such
// line is a HistoryFormatError naming the file and line. Meaning (keys, register
// values, pairing) is decided later, in operations.ts.
import fs from 'node:fs';
import { readEdn, parseEdn, isKeyword, isMap, mapGet, EdnError } from './edn.ts';
import type { EdnValue } from './edn.ts';
import type { EventType, HistoryEvent } from './types.ts';

/** HistoryFormatError is a line that is not a history event; the message names source:line. */
export class HistoryFormatError extends Error {
  readonly source: string;
  readonly line: number;
  /** The problem itself, without the source:line prefix. */
  readonly reason: string;
  constructor(source: string, line: number, reason: string) {
    super(`${source}:${line}: ${reason}`);
    this.name = 'HistoryFormatError';
    this.source = source;
    this.line = line;
    this.reason = reason;
  }
}

const EVENT_TYPES: ReadonlySet<string> = new Set(['invoke', 'ok', 'fail', 'info']);
const LOG_PREFIX = /^.*?\bjepsen\.util\s+-\s+/;
const LOG_FIELDS = /^(\S+)\s+:(\S+)\s+:(\S+)(?:\s+|$)/;

/** parseHistory reads every event of a history text; `source` names it in errors. */
export function parseHistory(text: string, source = '<history>'): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].replace(/\r$/, '');
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith(';')) continue;
    const line = i + 1;
    try {
      events.push(trimmed.startsWith('{') ? parseEdnLine(trimmed, line) : parseLogLine(trimmed, line));
    } catch (err) {
      if (err instanceof LineError || err instanceof EdnError) throw new HistoryFormatError(source, line, err.message);
      throw err;
    }
  }
  return events;
}

class LineError extends Error {}

function parseLogLine(text: string, line: number): HistoryEvent {
  const body = text.replace(LOG_PREFIX, '');
  const m = LOG_FIELDS.exec(body);
  if (!m) {
    throw new LineError(
      'expected "PROCESS :TYPE :F VALUE" (optionally after "jepsen.util - ") or an EDN map, found ' +
        JSON.stringify(text.length > 80 ? text.slice(0, 77) + '...' : text),
    );
  }
  const process = parseProcess(m[1]);
  const type = parseType(m[2]);
  const f = m[3];
  const rest = body.slice(m[0].length);
  if (rest.trim() === '') throw new LineError(`:${type} :${f} has no value (write nil for none)`);
  const first = readEdn(rest, 0);
  let error: EdnValue | undefined;
  let end = first.end;
  if (rest.slice(end).trim() !== '') {
    const second = readEdn(rest, end);
    error = second.value;
    end = second.end;
    if (rest.slice(end).trim() !== '') throw new LineError(`unexpected text after the value and error: ${JSON.stringify(rest.slice(end).trim())}`);
  }
  return { process, type, f, value: first.value, ...(error !== undefined ? { error } : {}), line };
}

function parseEdnLine(text: string, line: number): HistoryEvent {
  const m = parseEdn(text);
  if (!isMap(m)) throw new LineError('expected an EDN map');
  const p = mapGet(m, 'process');
  const t = mapGet(m, 'type');
  const f = mapGet(m, 'f');
  if (p === undefined || t === undefined || f === undefined) throw new LineError('an EDN event needs :process, :type and :f');
  let process: number | 'nemesis';
  if (typeof p === 'number' && Number.isSafeInteger(p) && p >= 0) process = p;
  else if (isKeyword(p, 'nemesis')) process = 'nemesis';
  else throw new LineError(':process must be a non-negative integer or :nemesis');
  if (!isKeyword(t)) throw new LineError(':type must be a keyword');
  if (!isKeyword(f)) throw new LineError(':f must be a keyword');
  const time = mapGet(m, 'time');
  if (time !== undefined && (typeof time !== 'number' || !Number.isFinite(time))) throw new LineError(':time must be a number');
  const error = mapGet(m, 'error');
  return {
    process,
    type: parseType(t.keyword),
    f: f.keyword,
    value: mapGet(m, 'value') ?? null,
    ...(error !== undefined ? { error } : {}),
    ...(time !== undefined ? { time } : {}),
    line,
  };
}

function parseProcess(s: string): number | 'nemesis' {
  if (s === ':nemesis') return 'nemesis';
  if (/^\d+$/.test(s) && Number.isSafeInteger(Number(s))) return Number(s);
  throw new LineError(`process must be a non-negative integer or :nemesis, found ${JSON.stringify(s)}`);
}

function parseType(s: string): EventType {
  if (!EVENT_TYPES.has(s)) throw new LineError(`type must be :invoke, :ok, :fail or :info, found :${s}`);
  return s as EventType;
}

/** readHistoryFile reads and parses one history file; errors name the path and line. */
export function readHistoryFile(path: string): HistoryEvent[] {
  return parseHistory(fs.readFileSync(path, 'utf8'), path);
}
