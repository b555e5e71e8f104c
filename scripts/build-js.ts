// Compiles the runtime sources (bin/, replica/, proto/, operator/) to plain
// JavaScript with Node's own type stripper, for the image and for the
// benchmark, which measures what the image runs. A process started from .js
// never loads the stripper, whose WebAssembly compiler otherwise stays
// resident in every member: ~29 MiB per member (docs/benchmarks.md,
// Optimisations, item 23). Relative import specifiers ending in .ts become
// .js; every other file (the .proto files) and package.json are copied as
// they are; test files are left out.
// It must never change what the code does: stripping only erases types (the
// sources use erasable syntax only: tsconfig's erasableSyntaxOnly) and keeps
// every line and column where it was, so stack traces still point into the
// sources. A relative import of a module the tree lacks is an error, not a
// broken tree. Imports are found as text (`from '...'`, `import '...'`,
// `import('...')` with a literal relative .ts specifier), which is every form
// the sources use; a template-literal import, `new URL('./x.ts', ...)` or
// `import.meta.resolve` would not be rewritten (bin/replicant.ts picks its
// extension at run time instead), and such text inside a comment or string
// is rewritten and checked like an import.
//
// Usage: node scripts/build-js.ts --out DIR [--from DIR]
import fs from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** SOURCE_DIRS are the folders the image runs from (the Dockerfile's context allowlist). */
export const SOURCE_DIRS = ['bin', 'replica', 'proto', 'operator'] as const;

/** IMPORT_TS finds a relative import or export specifier ending in .ts (static, side-effect or dynamic). */
const IMPORT_TS = /(\b(?:from|import)\s*\(?\s*)(['"])(\.{1,2}\/[^'"\n]*?)\.ts\2/g;

/** Compiled is one module as JavaScript, with the relative modules it imports (as written in it). */
export interface Compiled {
  code: string;
  imports: string[];
}

/** toJavaScript strips the types of one module's source and points its relative imports at .js files. */
export function toJavaScript(source: string, file: string): Compiled {
  const imports: string[] = [];
  let stripped: string;
  try {
    stripped = stripTypeScriptTypes(source, { mode: 'strip' });
  } catch (err) {
    throw new Error(`build-js: ${file}: ${(err as Error).message}`, { cause: err });
  }
  const code = stripped.replace(IMPORT_TS, (_m, head: string, quote: string, spec: string) => {
    imports.push(`${spec}.js`);
    return `${head}${quote}${spec}.js${quote}`;
  });
  return { code, imports };
}

/** isRuntimeFile: what the built tree keeps (tests and type declarations are not run). */
function isRuntimeFile(rel: string): boolean {
  return !rel.endsWith('.test.ts') && !rel.endsWith('.d.ts');
}

export interface BuildResult {
  modules: number;
  copied: number;
}

/** buildJs writes the JavaScript tree of `from`'s runtime sources into `out` (created; files there are overwritten). */
export function buildJs(from: string, out: string): BuildResult {
  const result: BuildResult = { modules: 0, copied: 0 };
  const wanted: { rel: string; target: string }[] = [];
  fs.mkdirSync(out, { recursive: true });
  fs.copyFileSync(path.join(from, 'package.json'), path.join(out, 'package.json'));
  result.copied++;
  for (const dir of SOURCE_DIRS) {
    const root = path.join(from, dir);
    if (!fs.existsSync(root)) continue;
    for (const ent of fs.readdirSync(root, { withFileTypes: true, recursive: true })) {
      if (!ent.isFile()) continue;
      const abs = path.join(ent.parentPath, ent.name);
      const rel = path.relative(from, abs);
      if (!isRuntimeFile(rel)) continue;
      const dest = path.join(out, rel.endsWith('.ts') ? `${rel.slice(0, -3)}.js` : rel);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      if (rel.endsWith('.ts')) {
        const { code, imports } = toJavaScript(fs.readFileSync(abs, 'utf8'), rel);
        fs.writeFileSync(dest, code);
        for (const spec of imports) wanted.push({ rel, target: path.resolve(path.dirname(dest), spec) });
        result.modules++;
      } else {
        fs.copyFileSync(abs, dest);
        result.copied++;
      }
    }
  }
  // a module importing one the tree lacks (a test helper, a file the build context left out) fails here, not at run time
  const missing = wanted.filter((w) => !fs.existsSync(w.target));
  if (missing.length > 0) {
    throw new Error(`build-js: imported modules missing from the tree: ${missing.map((w) => `${w.rel} imports ${path.relative(out, w.target)}`).join('; ')}`);
  }
  return result;
}

function main(): void {
  const { values } = parseArgs({ options: { out: { type: 'string' }, from: { type: 'string', default: '.' } } });
  if (!values.out) {
    process.stderr.write('usage: node scripts/build-js.ts --out DIR [--from DIR]\n');
    process.exit(2);
  }
  const from = path.resolve(values.from);
  if (!fs.existsSync(path.join(from, 'package.json'))) {
    process.stderr.write(`build-js: ${from} holds no package.json; --from must name the repository's root\n`);
    process.exit(2);
  }
  const r = buildJs(from, path.resolve(values.out));
  process.stdout.write(`build-js: ${r.modules} modules compiled, ${r.copied} files copied into ${values.out}\n`);
}

// (import.meta.main would need Node 24.2; the image's base may be any 24)
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
