// Test tooling: Docker's .dockerignore rules, so a test can tell which files
// of the build context a `COPY . .` sends into the image. Semantics follow
// Docker's documented rules: one pattern a line, `#` comments, `*` and `?`
// within one path segment, `**` across any number of segments, a leading `!`
// brings matches back, a pattern that matches a directory also matches
// everything below it, and the last matching line wins. Only that syntax is
// supported: anything else (character classes, escapes) is refused rather
// than guessed. Must never be used for anything but reading a build context.

export interface IgnoreRule {
  pattern: string;
  /** reinclude is true for `!pattern` lines. */
  reinclude: boolean;
  regex: RegExp;
}

/** parseDockerignore turns the file's text into rules, in order. */
export function parseDockerignore(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    let reinclude = false;
    if (line.startsWith('!')) {
      reinclude = true;
      line = line.slice(1).trim();
    }
    if (/[[\]\\]/.test(line)) {
      throw new Error(`.dockerignore line ${i + 1}: ${JSON.stringify(raw)} uses syntax this reader does not support (only * ? ** and !)`);
    }
    const pattern = cleanPattern(line);
    if (pattern === '') continue;
    rules.push({ pattern, reinclude, regex: patternRegex(pattern) });
  }
  return rules;
}

/** cleanPattern normalises a pattern as Docker does (leading / and ./, trailing /, doubled /). */
function cleanPattern(p: string): string {
  let s = p.replace(/\/+/g, '/');
  while (s.startsWith('/')) s = s.slice(1);
  while (s.startsWith('./')) s = s.slice(2);
  while (s.endsWith('/')) s = s.slice(0, -1);
  return s === '.' ? '' : s;
}

function patternRegex(pattern: string): RegExp {
  let out = '^';
  const segments = pattern.split('/');
  for (const [i, seg] of segments.entries()) {
    const last = i === segments.length - 1;
    if (seg === '**') {
      // zero or more whole segments
      out += last ? '.*' : '(?:[^/]+/)*';
      continue;
    }
    for (const ch of seg) {
      if (ch === '*') out += '[^/]*';
      else if (ch === '?') out += '[^/]';
      else out += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
    if (!last) out += '/';
  }
  return new RegExp(out + '$');
}

/** matchesOrParent is true when the rule matches the path or one of its parent directories. */
function matchesOrParent(rule: IgnoreRule, relPath: string): boolean {
  const parts = relPath.split('/');
  for (let n = parts.length; n >= 1; n--) {
    if (rule.regex.test(parts.slice(0, n).join('/'))) return true;
  }
  return false;
}

/** isExcluded tells whether a context path (relative, `/`-separated) stays out of the build context. */
export function isExcluded(rules: IgnoreRule[], relPath: string): boolean {
  let excluded = false;
  for (const rule of rules) {
    if (matchesOrParent(rule, relPath)) excluded = !rule.reinclude;
  }
  return excluded;
}

/**
 * mayReincludeBelow tells whether some `!` rule could bring back a path
 * inside the (excluded) directory, so a walker knows whether to descend.
 */
export function mayReincludeBelow(rules: IgnoreRule[], dir: string): boolean {
  return rules.some((r) => r.reinclude && (r.pattern.startsWith(`${dir}/`) || /^[*?]/.test(r.pattern)));
}
