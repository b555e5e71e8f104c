// Container logs, kept like the real kubelet's /var/log/pods: one file per
// container instance (…/logs/CONTAINER/N.log, N = restart number), each line in
// CRI format "TIMESTAMP STREAM F TEXT". Reading answers `pods/log` with its
// options: container, previous, follow, tailLines, sinceSeconds, sinceTime,
// timestamps, limitBytes.
// It must never lose a line: partial lines are kept until their newline or the exit.
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';

/** LogWriter appends one container instance's stdout and stderr to its log file. */
export class LogWriter {
  readonly file: string;
  readonly #fd: number;
  readonly #partial: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };
  #closed = false;

  constructor(file: string) {
    this.file = file;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.#fd = fs.openSync(file, 'a');
  }

  /** attach copies a stream into the log. */
  attach(stream: Readable | null, name: 'stdout' | 'stderr'): void {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => this.write(name, chunk));
  }

  write(stream: 'stdout' | 'stderr', text: string): void {
    if (this.#closed) return;
    const all = this.#partial[stream] + text;
    const lines = all.split('\n');
    this.#partial[stream] = lines.pop() ?? '';
    if (lines.length === 0) return;
    const ts = new Date().toISOString().replace('Z', '000000Z');
    fs.writeSync(this.#fd, lines.map((l) => `${ts} ${stream} F ${l}\n`).join(''));
  }

  /** close flushes partial lines and closes the file. */
  close(): void {
    if (this.#closed) return;
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.#partial[stream]) this.write(stream, '\n');
    }
    this.#closed = true;
    fs.closeSync(this.#fd);
  }
}

export interface LogLine {
  time: string;
  stream: string;
  text: string;
}

/** parseLogLine reads one CRI log line. */
export function parseLogLine(line: string): LogLine | undefined {
  const m = /^(\S+) (stdout|stderr) [FP] (.*)$/s.exec(line);
  return m ? { time: m[1], stream: m[2], text: m[3] } : undefined;
}

export interface LogQuery {
  tailLines?: number;
  sinceTime?: number;
  timestamps: boolean;
  limitBytes?: number;
}

/** renderLines turns log lines into what `kubectl logs` prints. */
export function renderLine(line: LogLine, timestamps: boolean): string {
  return timestamps ? `${line.time} ${line.text}\n` : `${line.text}\n`;
}

/** readLog returns the selected lines of a finished (or current) log file, and the byte offset read to. */
export function readLog(file: string, q: LogQuery): { text: string; offset: number } {
  let content = '';
  try {
    content = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const offset = Buffer.byteLength(content);
  let lines = content.split('\n').filter((l) => l !== '').map(parseLogLine).filter((l): l is LogLine => !!l);
  if (q.sinceTime !== undefined) lines = lines.filter((l) => Date.parse(l.time) >= q.sinceTime!);
  if (q.tailLines !== undefined) lines = q.tailLines === 0 ? [] : lines.slice(-q.tailLines);
  let text = lines.map((l) => renderLine(l, q.timestamps)).join('');
  if (q.limitBytes !== undefined) text = Buffer.from(text).subarray(0, q.limitBytes).toString('utf8');
  return { text, offset };
}

/**
 * logTail is what terminationMessagePolicy FallbackToLogsOnError puts in a failed container's
 * termination message: the end of its log, at most 80 lines and 2048 bytes (the kubelet's limits).
 */
export function logTail(file: string): string {
  const { text } = readLog(file, { tailLines: 80, timestamps: false });
  const bytes = Buffer.from(text.replace(/\n$/, ''));
  return bytes.subarray(Math.max(0, bytes.length - 2048)).toString('utf8');
}

/**
 * followLog streams lines appended after `offset` until `done()` says the
 * container instance has ended (then the rest is drained) or `stop` fires.
 */
export async function followLog(
  file: string,
  offset: number,
  q: LogQuery,
  write: (text: string) => boolean | void,
  done: () => boolean,
  stopped: () => boolean,
): Promise<void> {
  let pos = offset;
  let carry = '';
  let budget = q.limitBytes ?? Infinity;
  const pump = (): void => {
    let size = 0;
    try {
      size = fs.statSync(file).size;
    } catch {
      return;
    }
    if (size <= pos) return;
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(size - pos);
      fs.readSync(fd, buf, 0, buf.length, pos);
      pos = size;
      const all = carry + buf.toString('utf8');
      const lines = all.split('\n');
      carry = lines.pop() ?? '';
      for (const raw of lines) {
        const line = parseLogLine(raw);
        if (!line || budget <= 0) continue;
        if (q.sinceTime !== undefined && Date.parse(line.time) < q.sinceTime) continue;
        let text = renderLine(line, q.timestamps);
        if (Buffer.byteLength(text) > budget) text = Buffer.from(text).subarray(0, budget).toString('utf8');
        budget -= Buffer.byteLength(text);
        write(text);
      }
    } finally {
      fs.closeSync(fd);
    }
  };
  while (!stopped() && budget > 0) {
    const finished = done();
    pump();
    if (finished) break;
    await new Promise((r) => setTimeout(r, 100));
  }
}
