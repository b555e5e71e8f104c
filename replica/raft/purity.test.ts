// The consensus core must stay pure: it imports nothing outside replica/raft
// (and no Node module at all), and never touches timers, clocks, global
// randomness, the file system or the network.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.dirname(fileURLToPath(import.meta.url));

function sources(d: string): string[] {
  return fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(d, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

test('replica/raft imports only itself and uses no clock, timer, randomness or I/O', () => {
  const files = sources(dir);
  assert.ok(files.length > 10);
  const forbidden = [/\bsetTimeout\b/, /\bsetInterval\b/, /\bsetImmediate\b/, /\bDate\b/, /Math\.random/, /\bperformance\b/, /\bprocess\./, /\brequire\(/];
  for (const f of files) {
    const text = fs.readFileSync(f, 'utf8');
    const code = text.replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
    for (const m of code.matchAll(/from\s+'([^']+)'/g)) {
      const spec = m[1];
      assert.ok(spec.startsWith('.'), `${path.relative(dir, f)} imports ${spec}`);
      const target = path.resolve(path.dirname(f), spec);
      assert.ok(target.startsWith(dir + path.sep), `${path.relative(dir, f)} reaches outside replica/raft: ${spec}`);
    }
    for (const re of forbidden) assert.ok(!re.test(code), `${path.relative(dir, f)} uses ${re}`);
  }
});
