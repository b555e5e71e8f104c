// Test tooling: reads our Dockerfile into stages of instructions, with ARG
// and ENV substitution, so a test can rebuild the image's file tree without a
// Docker engine. Understands only the instructions the project's Dockerfile
// uses and refuses the rest with a message naming the line, so a new
// instruction cannot slip past the packaging test unnoticed. Must never
// execute anything.

export interface CopyInstruction {
  kind: 'COPY';
  line: number;
  /** from is a stage name or index, undefined for the build context. */
  from?: string;
  sources: string[];
  dest: string;
}

export interface RunInstruction {
  kind: 'RUN';
  line: number;
  command: string;
}

export interface WorkdirInstruction {
  kind: 'WORKDIR';
  line: number;
  path: string;
}

export type Instruction = CopyInstruction | RunInstruction | WorkdirInstruction;

export interface Stage {
  index: number;
  name?: string;
  /** base image, after ARG substitution */
  base: string;
  /** the file-system changing instructions, in order */
  steps: Instruction[];
  env: Record<string, string>;
  labels: Record<string, string>;
  user?: string;
  entrypoint?: string[];
  cmd?: string[];
  expose: string[];
}

export interface ParsedDockerfile {
  stages: Stage[];
  /** instruction keywords in file order, for static checks */
  keywords: string[];
}

const SUPPORTED = new Set(['ARG', 'FROM', 'WORKDIR', 'COPY', 'RUN', 'ENV', 'LABEL', 'USER', 'EXPOSE', 'ENTRYPOINT', 'CMD']);

/** logicalLines joins continuation lines and drops comments, keeping the first physical line number. */
function logicalLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let current: { line: number; text: string } | undefined;
  for (const [i, raw] of text.split('\n').entries()) {
    const trimmed = raw.trim();
    if (trimmed.startsWith('#')) continue; // comments, also inside a continued instruction
    if (current === undefined) {
      if (trimmed === '') continue;
      current = { line: i + 1, text: '' };
    }
    if (trimmed.endsWith('\\')) {
      current.text += trimmed.slice(0, -1).trimEnd() + ' ';
      continue;
    }
    current.text += trimmed;
    out.push(current);
    current = undefined;
  }
  if (current) throw new Error(`Dockerfile line ${current.line}: the last instruction ends with a line continuation`);
  return out;
}

/** words splits a shell-form argument list on blanks; quotes group, backslash escapes inside "..." */
function words(s: string): string[] {
  const out: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (/\s/.test(ch)) {
      if (word !== undefined) out.push(word);
      word = undefined;
    } else if (ch === '"' || ch === "'") {
      const end = s.indexOf(ch, i + 1);
      if (end < 0) throw new Error(`unterminated quote in ${JSON.stringify(s)}`);
      const inner = s.slice(i + 1, end);
      word = (word ?? '') + (ch === '"' ? inner.replace(/\\(.)/g, '$1') : inner);
      i = end;
    } else {
      word = (word ?? '') + ch;
    }
  }
  if (word !== undefined) out.push(word);
  return out;
}

/** keyValues parses `k=v k2="v 2"` (LABEL, ENV). */
function keyValues(s: string, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const w of words(s)) {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new Error(`${where}: expected key=value, got ${JSON.stringify(w)}`);
    out[w.slice(0, eq)] = w.slice(eq + 1);
  }
  return out;
}

function substitute(s: string, vars: Map<string, string>, where: string): string {
  return s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, a: string | undefined, b: string | undefined) => {
    const name = (a ?? b)!;
    const v = vars.get(name);
    if (v === undefined) throw new Error(`${where}: $${name} is not a declared ARG or ENV`);
    return v;
  });
}

function execForm(s: string, where: string): string[] {
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch {
    throw new Error(`${where}: use the exec (JSON array) form, got ${JSON.stringify(s)}`);
  }
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(`${where}: expected a JSON array of strings`);
  return v;
}

/** parseDockerfile reads the text of a Dockerfile; `buildArgs` override ARG defaults. */
export function parseDockerfile(text: string, buildArgs: Record<string, string> = {}): ParsedDockerfile {
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  const keywords: string[] = [];
  let stage: Stage | undefined;
  let vars = new Map<string, string>();
  for (const { line, text: instr } of logicalLines(text)) {
    const m = /^(\S+)\s*(.*)$/.exec(instr)!;
    const keyword = m[1].toUpperCase();
    const rest = m[2];
    const where = `Dockerfile line ${line} (${keyword})`;
    keywords.push(keyword);
    if (!SUPPORTED.has(keyword)) {
      throw new Error(`${where}: not understood by test/packaging (supported: ${[...SUPPORTED].join(' ')}); teach test/packaging/dockerfile.ts first`);
    }
    if (keyword === 'ARG') {
      const eq = rest.indexOf('=');
      const name = eq < 0 ? rest.trim() : rest.slice(0, eq).trim();
      const scope = stage ? vars : globalArgs;
      const declared = buildArgs[name] ?? (eq < 0 ? globalArgs.get(name) : words(substitute(rest.slice(eq + 1), scope, where)).join(' '));
      if (declared !== undefined) scope.set(name, declared);
      continue;
    }
    if (keyword === 'FROM') {
      const w = words(rest);
      const flags = w.filter((x) => x.startsWith('--'));
      if (flags.length > 0) throw new Error(`${where}: FROM flags are not supported (${flags.join(' ')})`);
      if (!(w.length === 1 || (w.length === 3 && w[1].toUpperCase() === 'AS'))) throw new Error(`${where}: expected FROM image [AS name]`);
      stage = {
        index: stages.length,
        name: w[2],
        base: substitute(w[0], globalArgs, where),
        steps: [],
        env: {},
        labels: {},
        expose: [],
      };
      stages.push(stage);
      vars = new Map();
      continue;
    }
    if (!stage) throw new Error(`${where}: instruction before the first FROM`);
    switch (keyword) {
      case 'WORKDIR':
        stage.steps.push({ kind: 'WORKDIR', line, path: substitute(rest.trim(), vars, where) });
        break;
      case 'COPY': {
        const w = words(rest);
        let from: string | undefined;
        const paths: string[] = [];
        for (const x of w) {
          if (x.startsWith('--from=')) from = x.slice('--from='.length);
          else if (x === '--link' || x.startsWith('--chown=') || x.startsWith('--chmod=')) continue;
          else if (x.startsWith('--')) throw new Error(`${where}: COPY flag ${x} is not supported`);
          else paths.push(substitute(x, vars, where));
        }
        if (paths.length < 2) throw new Error(`${where}: COPY needs at least one source and a destination`);
        stage.steps.push({ kind: 'COPY', line, from, sources: paths.slice(0, -1), dest: paths[paths.length - 1] });
        break;
      }
      case 'RUN':
        if (rest.trim().startsWith('[')) throw new Error(`${where}: use the shell form of RUN`);
        stage.steps.push({ kind: 'RUN', line, command: rest.trim() });
        break;
      case 'ENV':
        for (const [k, v] of Object.entries(keyValues(rest, where))) {
          stage.env[k] = substitute(v, vars, where);
          vars.set(k, stage.env[k]);
        }
        break;
      case 'LABEL':
        for (const [k, v] of Object.entries(keyValues(rest, where))) stage.labels[k] = substitute(v, vars, where);
        break;
      case 'USER':
        stage.user = substitute(rest.trim(), vars, where);
        break;
      case 'EXPOSE':
        stage.expose.push(...words(rest));
        break;
      case 'ENTRYPOINT':
        stage.entrypoint = execForm(rest, where);
        break;
      case 'CMD':
        stage.cmd = execForm(rest, where);
        break;
    }
  }
  if (stages.length === 0) throw new Error('Dockerfile: no FROM');
  return { stages, keywords };
}
