// Label and field selectors: parsing the query-string forms (`labelSelector`,
// `fieldSelector`) and matching them, plus matching the metav1.LabelSelector
// object form used by PDBs and spread constraints.
// It must never look up objects: callers pass labels and field values in.
import { badRequest } from './errors.ts';

export type LabelRequirement =
  | { op: 'exists' | '!'; key: string }
  | { op: 'in' | 'notin'; key: string; values: string[] }
  | { op: 'gt' | 'lt'; key: string; value: number };

/** LabelSelector is a parsed selector: every requirement must hold. */
export type LabelSelector = LabelRequirement[];

const KEY = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

/** parseLabelSelector parses `a=b,c!=d,e in (x,y),f notin (z),g,!h,i>3`; an empty string selects everything. */
export function parseLabelSelector(text: string): LabelSelector {
  const out: LabelSelector = [];
  let rest = text.trim();
  const fail = (why: string) => badRequest(`unable to parse requirement: ${why} in label selector "${text}"`);
  while (rest.length > 0) {
    let m: RegExpMatchArray | null;
    if ((m = rest.match(/^!\s*([^\s,=!<>()]+)\s*(,|$)/))) {
      out.push({ op: '!', key: checkKey(m[1]) });
    } else if ((m = rest.match(/^([^\s,=!<>()]+)\s+(in|notin)\s*\(([^)]*)\)\s*(,|$)/))) {
      const values = m[3].split(',').map((v) => v.trim()).filter((v) => v !== '');
      out.push({ op: m[2] as 'in' | 'notin', key: checkKey(m[1]), values });
    } else if ((m = rest.match(/^([^\s,=!<>()]+)\s*(==|=|!=)\s*([^\s,=!<>()]*)\s*(,|$)/))) {
      out.push({ op: m[2] === '!=' ? 'notin' : 'in', key: checkKey(m[1]), values: [m[3]] });
    } else if ((m = rest.match(/^([^\s,=!<>()]+)\s*(<|>)\s*(-?\d+)\s*(,|$)/))) {
      out.push({ op: m[2] === '>' ? 'gt' : 'lt', key: checkKey(m[1]), value: Number(m[3]) });
    } else if ((m = rest.match(/^([^\s,=!<>()]+)\s*(,|$)/))) {
      out.push({ op: 'exists', key: checkKey(m[1]) });
    } else {
      throw fail(`unexpected "${rest}"`);
    }
    rest = rest.slice(m[0].length).trim();
    if (m[0].trimEnd().endsWith(',') && rest.length === 0) throw fail('found trailing ","');
  }
  return out;

  function checkKey(key: string): string {
    if (!KEY.test(key) || key.length > 316) throw fail(`invalid label key "${key}"`);
    return key;
  }
}

/** matchesLabels tells whether a set of labels satisfies a parsed selector. */
export function matchesLabels(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return selector.every((r) => {
    const has = Object.hasOwn(l, r.key);
    switch (r.op) {
      case 'exists':
        return has;
      case '!':
        return !has;
      case 'in':
        return has && r.values.includes(l[r.key]);
      case 'notin':
        return !has || !r.values.includes(l[r.key]);
      case 'gt':
        return has && Number(l[r.key]) > r.value;
      case 'lt':
        return has && Number(l[r.key]) < r.value;
    }
  });
}

/** MetaLabelSelector is the metav1.LabelSelector object form. */
export interface MetaLabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** fromMetaLabelSelector converts the object form; an empty or absent selector selects everything. */
export function fromMetaLabelSelector(sel: MetaLabelSelector | undefined | null): LabelSelector {
  const out: LabelSelector = [];
  for (const [key, value] of Object.entries(sel?.matchLabels ?? {})) out.push({ op: 'in', key, values: [value] });
  for (const e of sel?.matchExpressions ?? []) {
    switch (e.operator) {
      case 'In':
        out.push({ op: 'in', key: e.key, values: e.values ?? [] });
        break;
      case 'NotIn':
        out.push({ op: 'notin', key: e.key, values: e.values ?? [] });
        break;
      case 'Exists':
        out.push({ op: 'exists', key: e.key });
        break;
      case 'DoesNotExist':
        out.push({ op: '!', key: e.key });
        break;
      default:
        throw badRequest(`"${e.operator}" is not a valid label selector operator`);
    }
  }
  return out;
}

/** selectorFromMap turns a Service-style equality map into a selector. */
export function selectorFromMap(map: Record<string, string> | undefined): LabelSelector {
  return Object.entries(map ?? {}).map(([key, value]) => ({ op: 'in' as const, key, values: [value] }));
}

/** formatLabelSelector renders a selector back into its string form (for scale status.selector). */
export function formatLabelSelector(selector: LabelSelector): string {
  return selector
    .map((r) => {
      switch (r.op) {
        case 'exists':
          return r.key;
        case '!':
          return `!${r.key}`;
        case 'in':
          return r.values.length === 1 ? `${r.key}=${r.values[0]}` : `${r.key} in (${r.values.join(',')})`;
        case 'notin':
          return r.values.length === 1 ? `${r.key}!=${r.values[0]}` : `${r.key} notin (${r.values.join(',')})`;
        case 'gt':
          return `${r.key}>${r.value}`;
        case 'lt':
          return `${r.key}<${r.value}`;
      }
    })
    .join(',');
}

export interface FieldRequirement {
  field: string;
  value: string;
  negate: boolean;
}

/** parseFieldSelector parses `a=b,c!=d` (also `==`); values may escape `\,` `\=` `\\`. */
export function parseFieldSelector(text: string): FieldRequirement[] {
  const out: FieldRequirement[] = [];
  if (text.trim() === '') return out;
  for (const part of splitUnescaped(text, ',')) {
    const m = part.match(/^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/s);
    if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${part}'`);
    out.push({ field: m[1], value: unescape(m[3]), negate: m[2] === '!=' });
  }
  return out;
}

/** matchesFields tells whether an object's field values satisfy every requirement. */
export function matchesFields(reqs: FieldRequirement[], valueOf: (field: string) => string): boolean {
  return reqs.every((r) => (valueOf(r.field) === r.value) !== r.negate);
}

function splitUnescaped(text: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && i + 1 < text.length) {
      cur += c + text[++i];
    } else if (c === sep) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  return parts;
}

function unescape(v: string): string {
  return v.replace(/\\(.)/g, '$1');
}
