import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildJs, toJavaScript } from './build-js.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

test('toJavaScript erases types, keeps every line, and points relative .ts imports at .js', () => {
  const source = [
    "import fs from 'node:fs';",
    "import type { A } from './types.ts';",
    "import { b, type C } from '../lib/b.ts';",
    "export { d } from \"./d.ts\";",
    "import './side-effect.ts';",
    "const e = await import('./e.ts');",
    "const name: string = 'see ./not-an-import.ts';",
    "export function f(x: number): A | C { return fs.existsSync(name) ? b(x) : e.default; }",
  ].join('\n');
  const { code, imports } = toJavaScript(source, 'x.ts');
  assert.equal(code.split('\n').length, source.split('\n').length, 'positions kept: same number of lines');
  assert.match(code, /from '\.\.\/lib\/b\.js'/);
  assert.match(code, /from "\.\/d\.js"/);
  assert.match(code, /import '\.\/side-effect\.js'/);
  assert.match(code, /import\('\.\/e\.js'\)/);
  assert.match(code, /'see \.\/not-an-import\.ts'/, 'a string that is not an import is left alone');
  assert.match(code, /from 'node:fs'/);
  assert.doesNotMatch(code, /types\.ts|: number|: string|type C/);
  assert.deepEqual(imports, ['../lib/b.js', './d.js', './side-effect.js', './e.js']);
});

test('buildJs: the replica runs from the built tree, and an import of a module the tree lacks fails the build', (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-build-js-'));
  t.after(() => fs.rmSync(out, { recursive: true, force: true }));
  const r = buildJs(REPO, out);
  assert.ok(r.modules > 50, `${r.modules} modules`);
  assert.ok(fs.existsSync(path.join(out, 'bin/replicant.js')));
  assert.ok(fs.existsSync(path.join(out, 'proto/peer.proto')), 'the .proto files are copied');
  assert.ok(!fs.existsSync(path.join(out, 'replica/raft/raft.test.js')), 'tests are left out');
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(out, 'node_modules'));
  const help = spawnSync(process.execPath, [path.join(out, 'bin/replicant.js'), 'replica', '--help'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^usage: replicant replica \[flags\]/);

  const broken = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-build-js-src-'));
  t.after(() => fs.rmSync(broken, { recursive: true, force: true }));
  fs.writeFileSync(path.join(broken, 'package.json'), '{}');
  fs.mkdirSync(path.join(broken, 'replica'));
  fs.writeFileSync(path.join(broken, 'replica/main.ts'), "import { helper } from './gone.ts';\nhelper();\n");
  assert.throws(() => buildJs(broken, path.join(broken, 'out')), /replica\/main\.ts imports replica\/gone\.js/);
});

test('toJavaScript names the file whose syntax it cannot strip', () => {
  assert.throws(() => toJavaScript('enum Color { Red }\n', 'replica/colors.ts'), /build-js: replica\/colors\.ts: /);
});
