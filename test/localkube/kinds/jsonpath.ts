// The small JSONPath subset CRDs use in additionalPrinterColumns and scale paths:
// `.a.b`, `.a[0]`, `.a[*].b`, `.a['x.y']`, `.a[?(@.type=="Ready")].status`, with
// optional `{...}` braces. It must never evaluate code.

type Step =
  | { kind: 'field'; name: string }
  | { kind: 'index'; index: number }
  | { kind: 'all' }
  | { kind: 'filter'; path: string[]; op: '==' | '!='; value: string | number | boolean };

/** parseJsonPath compiles a path; it throws an Error with the reason when it cannot. */
export function parseJsonPath(path: string): Step[] {
  let p = path.trim();
  if (p.startsWith('{') && p.endsWith('}')) p = p.slice(1, -1).trim();
  if (p.startsWith('$')) p = p.slice(1);
  const steps: Step[] = [];
  let i = 0;
  while (i < p.length) {
    if (p[i] === '.') {
      i++;
      const m = /^[A-Za-z0-9_\-$]+/.exec(p.slice(i));
      if (!m) {
        if (i >= p.length) break;
        throw new Error(`unexpected "${p.slice(i)}" in JSONPath ${path}`);
      }
      steps.push({ kind: 'field', name: m[0] });
      i += m[0].length;
    } else if (p[i] === '[') {
      const end = p.indexOf(']', i);
      if (end < 0) throw new Error(`unterminated [ in JSONPath ${path}`);
      const inner = p.slice(i + 1, end).trim();
      i = end + 1;
      if (inner === '*') steps.push({ kind: 'all' });
      else if (/^-?\d+$/.test(inner)) steps.push({ kind: 'index', index: Number(inner) });
      else if (/^'.*'$|^".*"$/.test(inner)) steps.push({ kind: 'field', name: inner.slice(1, -1) });
      else {
        const f = /^\?\(@((?:\.[A-Za-z0-9_\-]+)+)\s*(==|!=)\s*(.+)\)$/.exec(inner);
        if (!f) throw new Error(`unsupported JSONPath element [${inner}] in ${path}`);
        steps.push({ kind: 'filter', path: f[1].slice(1).split('.'), op: f[2] as '==' | '!=', value: literal(f[3].trim()) });
      }
    } else {
      throw new Error(`unexpected "${p.slice(i)}" in JSONPath ${path}`);
    }
  }
  return steps;
}

function literal(text: string): string | number | boolean {
  if (/^'.*'$|^".*"$/.test(text)) return text.slice(1, -1);
  if (text === 'true' || text === 'false') return text === 'true';
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  return text;
}

/** evaluateJsonPath returns every value the path reaches (empty when none). */
export function evaluateJsonPath(obj: unknown, path: string | Step[]): unknown[] {
  const steps = typeof path === 'string' ? parseJsonPath(path) : path;
  let current: unknown[] = [obj];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const v of current) {
      if (step.kind === 'field') {
        if (v !== null && typeof v === 'object' && !Array.isArray(v) && step.name in (v as object)) {
          next.push((v as Record<string, unknown>)[step.name]);
        }
      } else if (step.kind === 'index') {
        if (Array.isArray(v)) {
          const at = step.index < 0 ? v.length + step.index : step.index;
          if (at >= 0 && at < v.length) next.push(v[at]);
        }
      } else if (step.kind === 'all') {
        if (Array.isArray(v)) next.push(...v);
        else if (v !== null && typeof v === 'object') next.push(...Object.values(v));
      } else {
        if (!Array.isArray(v)) continue;
        for (const e of v) {
          const got = evaluateJsonPath(e, step.path.map((name) => ({ kind: 'field' as const, name })))[0];
          if ((got === step.value) === (step.op === '==')) next.push(e);
        }
      }
    }
    current = next;
  }
  return current.filter((v) => v !== undefined);
}

/** getPath reads one value at a simple dotted path (".spec.replicas"), or undefined. */
export function getPath(obj: unknown, path: string): unknown {
  return evaluateJsonPath(obj, path)[0];
}

/** setPath writes a value at a simple dotted path, creating objects on the way. */
export function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const names = parseJsonPath(path).map((s) => {
    if (s.kind !== 'field') throw new Error(`path ${path} must be a plain field path`);
    return s.name;
  });
  let cur: Record<string, unknown> = obj;
  for (const name of names.slice(0, -1)) {
    if (cur[name] === null || typeof cur[name] !== 'object' || Array.isArray(cur[name])) cur[name] = {};
    cur = cur[name] as Record<string, unknown>;
  }
  cur[names[names.length - 1]] = value;
}
