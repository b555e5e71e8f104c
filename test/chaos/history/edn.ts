// Reads and writes the subset of EDN (Clojure's data notation) that Jepsen
// histories use: nil, booleans, integers, strings, keywords, symbols, vectors,
// lists and maps. Values in a Jepsen log line and whole lines of a Jepsen
// `history.edn` are EDN, so one reader serves both history formats.
// It must never guess: anything outside the subset (tagged literals, sets,
// ratios, integers beyond 2^53) is a parse error naming the offset, never a
// silently different value.

/** EdnKeyword is `:name`, kept apart from strings so `:read` and `"read"` differ. */
export interface EdnKeyword {
  readonly keyword: string;
}

/** EdnSymbol is a bare word such as `k1` (not nil/true/false, not a number). */
export interface EdnSymbol {
  readonly symbol: string;
}

/** EdnMap holds a map's entries in file order; keys may be any EDN value. */
export interface EdnMap {
  readonly entries: ReadonlyArray<readonly [EdnValue, EdnValue]>;
}

export type EdnValue =
  | null
  | boolean
  | number
  | string
  | EdnKeyword
  | EdnSymbol
  | readonly EdnValue[]
  | EdnMap;

/** EdnError is a parse failure; `offset` is the character offset in the input. */
export class EdnError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = 'EdnError';
    this.offset = offset;
  }
}

export function keyword(name: string): EdnKeyword {
  return { keyword: name };
}

export function isKeyword(v: EdnValue, name?: string): v is EdnKeyword {
  return typeof v === 'object' && v !== null && 'keyword' in v && (name === undefined || v.keyword === name);
}

export function isSymbol(v: EdnValue): v is EdnSymbol {
  return typeof v === 'object' && v !== null && 'symbol' in v;
}

export function isMap(v: EdnValue): v is EdnMap {
  return typeof v === 'object' && v !== null && 'entries' in v;
}

export function isVector(v: EdnValue): v is readonly EdnValue[] {
  return Array.isArray(v);
}

/** mapGet returns the value under keyword `name` in an EDN map, or undefined. */
export function mapGet(m: EdnMap, name: string): EdnValue | undefined {
  for (const [k, v] of m.entries) if (isKeyword(k, name)) return v;
  return undefined;
}

const WHITESPACE = /[\s,]/;
const DELIMITER = /[\s,\[\]{}()";]/;

/**
 * readEdn reads one EDN value starting at `pos` (after optional whitespace) and
 * returns it with the offset just past it, so callers can read several values.
 */
export function readEdn(text: string, pos: number): { value: EdnValue; end: number } {
  const r = new Reader(text);
  r.pos = pos;
  r.skipSpace();
  if (r.atEnd()) throw new EdnError('expected a value, found end of input', r.pos);
  const value = r.value();
  return { value, end: r.pos };
}

/** parseEdn reads exactly one EDN value from `text` (surrounding whitespace allowed). */
export function parseEdn(text: string): EdnValue {
  const r = new Reader(text);
  r.skipSpace();
  if (r.atEnd()) throw new EdnError('expected a value, found end of input', r.pos);
  const v = r.value();
  r.skipSpace();
  if (!r.atEnd()) throw new EdnError(`unexpected ${JSON.stringify(text[r.pos])} after the value`, r.pos);
  return v;
}

class Reader {
  readonly text: string;
  pos = 0;
  constructor(text: string) {
    this.text = text;
  }

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  skipSpace(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t[this.pos];
      if (WHITESPACE.test(c)) this.pos++;
      else if (c === ';') {
        while (this.pos < t.length && t[this.pos] !== '\n') this.pos++;
      } else break;
    }
  }

  value(): EdnValue {
    const t = this.text;
    const c = t[this.pos];
    if (c === '[') return this.sequence(']');
    if (c === '(') return this.sequence(')');
    if (c === '{') return this.map();
    if (c === '"') return this.string();
    if (c === ':') {
      const start = this.pos++;
      const name = this.token();
      if (name === '') throw new EdnError('empty keyword', start);
      return keyword(name);
    }
    if (c === '#') throw new EdnError('tagged literals, sets and discards are not supported', this.pos);
    if (c === ']' || c === ')' || c === '}') throw new EdnError(`unbalanced ${JSON.stringify(c)}`, this.pos);
    const start = this.pos;
    const tok = this.token();
    if (tok === '') throw new EdnError(`unexpected ${JSON.stringify(c)}`, start);
    if (tok === 'nil') return null;
    if (tok === 'true') return true;
    if (tok === 'false') return false;
    if (/^[+-]?\d/.test(tok)) return number(tok, start);
    return { symbol: tok };
  }

  token(): string {
    const start = this.pos;
    while (this.pos < this.text.length && !DELIMITER.test(this.text[this.pos])) this.pos++;
    return this.text.slice(start, this.pos);
  }

  sequence(close: string): EdnValue[] {
    const open = this.pos++;
    const out: EdnValue[] = [];
    for (;;) {
      this.skipSpace();
      if (this.atEnd()) throw new EdnError(`unclosed ${JSON.stringify(this.text[open])}`, open);
      if (this.text[this.pos] === close) {
        this.pos++;
        return out;
      }
      out.push(this.value());
    }
  }

  map(): EdnMap {
    const open = this.pos;
    const items = this.sequence('}');
    if (items.length % 2 !== 0) throw new EdnError('map has an odd number of forms', open);
    const entries: Array<readonly [EdnValue, EdnValue]> = [];
    for (let i = 0; i < items.length; i += 2) entries.push([items[i], items[i + 1]]);
    return { entries };
  }

  string(): string {
    const t = this.text;
    const start = this.pos++;
    let out = '';
    while (this.pos < t.length) {
      const c = t[this.pos++];
      if (c === '"') return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = t[this.pos++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'u': {
          const hex = t.slice(this.pos, this.pos + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new EdnError('bad \\u escape', this.pos - 2);
          out += String.fromCharCode(parseInt(hex, 16));
          this.pos += 4;
          break;
        }
        default:
          throw new EdnError(`unknown string escape \\${e ?? ''}`, this.pos - 2);
      }
    }
    throw new EdnError('unterminated string', start);
  }
}

function number(tok: string, offset: number): number {
  if (/^[+-]?\d+N?$/.test(tok)) {
    const n = Number(tok.replace(/N$/, ''));
    if (!Number.isSafeInteger(n)) throw new EdnError(`integer ${tok} is beyond 2^53`, offset);
    return n;
  }
  if (/^[+-]?\d+(\.\d+)?([eE][+-]?\d+)?M?$/.test(tok)) return Number(tok.replace(/M$/, ''));
  throw new EdnError(`bad number ${JSON.stringify(tok)}`, offset);
}

/** formatEdn writes a value so that parseEdn reads it back equal. */
export function formatEdn(v: EdnValue): string {
  if (v === null) return 'nil';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`cannot write ${v} as EDN`);
    return String(v);
  }
  if (typeof v === 'string') return JSON.stringify(v);
  if (isVector(v)) return `[${v.map(formatEdn).join(' ')}]`;
  if (isKeyword(v)) return `:${v.keyword}`;
  if (isSymbol(v)) return v.symbol;
  return `{${v.entries.map(([k, x]) => `${formatEdn(k)} ${formatEdn(x)}`).join(', ')}}`;
}
