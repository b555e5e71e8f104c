// The .dockerignore reader agrees with Docker's documented rules on the
// cases our allowlist relies on, and refuses syntax it does not implement.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isExcluded, mayReincludeBelow, parseDockerignore } from './dockerignore.ts';
import { parseDockerfile } from './dockerfile.ts';

test('dockerignore: allowlist, ** anywhere, directory patterns cover their contents, last match wins', () => {
  const rules = parseDockerignore(['# comment', '*', '!bin', '!/replica/', '**/*.test.ts', '**/testdata', 'replica/keep.test.ts', '!replica/keep.test.ts', ''].join('\n'));
  const cases: [string, boolean][] = [
    ['package.json', true],
    ['node_modules/x/index.js', true],
    ['bin/replicant.ts', false],
    ['replica/main.ts', false],
    ['replica/server/server.ts', false],
    ['replica/server/server.test.ts', true],
    ['root.test.ts', true],
    ['replica/kv/testdata/a.json', true],
    ['replica/testdata', true],
    ['replica/keep.test.ts', false],
    ['binary/x', true],
  ];
  for (const [p, excluded] of cases) assert.equal(isExcluded(rules, p), excluded, p);
  assert.equal(mayReincludeBelow(rules, 'node_modules'), false);
  assert.equal(mayReincludeBelow(rules, 'replica'), true);
});

test('dockerignore: ? is one character within a segment, * never crosses /', () => {
  const rules = parseDockerignore('a?c\nx/*.ts\n');
  assert.equal(isExcluded(rules, 'abc'), true);
  assert.equal(isExcluded(rules, 'abbc'), false);
  assert.equal(isExcluded(rules, 'x/y.ts'), true);
  assert.equal(isExcluded(rules, 'x/z/y.ts'), false);
});

test('dockerignore: unsupported syntax is refused with the line number', () => {
  assert.throws(() => parseDockerignore('ok\n[abc]\n'), /line 2: .*only \* \? \*\* and !/);
});

test('dockerfile reader: continuations, comments inside them, ARG scoping, quoted labels, unknown instructions refused', () => {
  const df = parseDockerfile(
    [
      'ARG BASE=node:24-slim',
      'FROM ${BASE} AS deps',
      'RUN echo a \\',
      '# a comment inside the continuation',
      ' && echo b',
      'FROM $BASE',
      'ARG BASE',
      'ARG V=1',
      'LABEL a="x y" b=${V} c="${BASE}"',
      'COPY --from=deps --chown=1000:1000 /app/node_modules ./node_modules',
      'ENTRYPOINT ["node", "bin/replicant.ts"]',
    ].join('\n'),
  );
  assert.equal(df.stages.length, 2);
  assert.equal(df.stages[0].name, 'deps');
  assert.deepEqual(df.stages[0].steps, [{ kind: 'RUN', line: 3, command: 'echo a && echo b' }]);
  assert.deepEqual(df.stages[1].labels, { a: 'x y', b: '1', c: 'node:24-slim' });
  assert.deepEqual(df.stages[1].steps[0], { kind: 'COPY', line: 10, from: 'deps', sources: ['/app/node_modules'], dest: './node_modules' });
  // A global ARG is not visible inside a stage until redeclared there (Docker's scoping).
  assert.throws(() => parseDockerfile('ARG B=x\nFROM scratch\nLABEL l=${B}\n'), /\$B is not a declared ARG/);
  assert.throws(() => parseDockerfile('FROM scratch\nHEALTHCHECK CMD true\n'), /line 2 \(HEALTHCHECK\): not understood/);
  assert.throws(() => parseDockerfile('FROM scratch\nCMD node x\n'), /exec \(JSON array\) form/);
});
