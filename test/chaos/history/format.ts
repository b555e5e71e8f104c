// Writes events as history text, in either of the formats parse.ts reads:
// Jepsen log lines (what Porcupine-style tools and our checker read) or Jepsen
// EDN maps (what Knossos and Elle read, and the only one that keeps :time).
// It must never write a line that parseHistory would read back differently.
import { formatEdn, keyword } from './edn.ts';
import type { EdnValue } from './edn.ts';
import type { HistoryEvent } from './types.ts';

/** HistoryFormat names one of the two line formats. */
export type HistoryFormat = 'log' | 'edn';

/** formatLogLine is one Jepsen log line: `INFO  jepsen.util - P<TAB>:type<TAB>:f<TAB>value[<TAB>error]`. */
export function formatLogLine(e: HistoryEvent): string {
  const process = e.process === 'nemesis' ? ':nemesis' : String(e.process);
  const error = e.error !== undefined ? `\t${formatEdn(e.error)}` : '';
  return `INFO  jepsen.util - ${process}\t:${e.type}\t:${e.f}\t${formatEdn(e.value)}${error}`;
}

/** formatEdnLine is one Jepsen EDN event map; `index` is its position in the history. */
export function formatEdnLine(e: HistoryEvent, index: number): string {
  const entries: Array<readonly [EdnValue, EdnValue]> = [
    [keyword('type'), keyword(e.type)],
    [keyword('f'), keyword(e.f)],
    [keyword('value'), e.value],
    [keyword('process'), e.process === 'nemesis' ? keyword('nemesis') : e.process],
  ];
  if (e.error !== undefined) entries.push([keyword('error'), e.error]);
  if (e.time !== undefined) entries.push([keyword('time'), e.time]);
  entries.push([keyword('index'), index]);
  return formatEdn({ entries });
}

/** formatHistory writes all events, one a line, with a trailing newline. */
export function formatHistory(events: readonly HistoryEvent[], format: HistoryFormat = 'log'): string {
  const lines = events.map((e, i) => (format === 'log' ? formatLogLine(e) : formatEdnLine(e, i)));
  return lines.length === 0 ? '' : lines.join('\n') + '\n';
}
