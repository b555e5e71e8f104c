// The EDN subset reader/writer: values Jepsen writes read back exactly, and
// anything outside the subset is an error with an offset, never a guess.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEdn, formatEdn, keyword, EdnError } from './edn.ts';
import { readEdn } from './edn.ts';

test('reads the scalars, vectors and maps of Jepsen histories', () => {
  assert.equal(parseEdn('nil'), null);
  assert.equal(parseEdn(' 42 '), 42);
  assert.equal(parseEdn('-7'), -7);
  assert.equal(parseEdn('3N'), 3);
  assert.equal(parseEdn('true'), true);
  assert.deepEqual(parseEdn(':timed-out'), keyword('timed-out'));
  assert.deepEqual(parseEdn('k1'), { symbol: 'k1' });
  assert.deepEqual(parseEdn('[1 [nil 2]]'), [1, [null, 2]]);
  assert.deepEqual(parseEdn('(1, 2)'), [1, 2]);
  assert.equal(parseEdn('"a \\"q\\" \\n \\u00e9"'), 'a "q" \n é');
  assert.deepEqual(parseEdn('{:type :ok, :value [1 2]} ; trailing comment'), {
    entries: [
      [keyword('type'), keyword('ok')],
      [keyword('value'), [1, 2]],
    ],
  });
});

test('readEdn reads one value and says where it ended', () => {
  const text = '[1 2] :timed-out';
  const first = readEdn(text, 0);
  assert.deepEqual(first.value, [1, 2]);
  assert.deepEqual(readEdn(text, first.end).value, keyword('timed-out'));
});

test('formatEdn output reads back equal', () => {
  const values = [null, 0, -3, 2.5, 'plain', 'tab\tquote"back\\slash\nnewline\u0001', [1, 'x', [null]], keyword('info'), true];
  for (const v of values) assert.deepEqual(parseEdn(formatEdn(v)), v);
  const map = { entries: [[keyword('f'), keyword('cas')] as const, [keyword('value'), [1, [2, 3]]] as const] };
  assert.deepEqual(parseEdn(formatEdn(map)), map);
});

test('rejects what it does not understand, naming the offset', () => {
  const bad: Array<[string, RegExp]> = [
    ['[1 2', /unclosed "\[" at offset 0/],
    ['"abc', /unterminated string/],
    ['#{1 2}', /tagged literals, sets/],
    ['#inst "2020"', /tagged literals/],
    ['99999999999999999999', /beyond 2\^53/],
    ['1/2', /bad number/],
    ['{:a}', /odd number of forms/],
    ['1 2', /unexpected "2" after the value/],
    [']', /unbalanced/],
    ['', /expected a value/],
    ['"\\q"', /unknown string escape/],
  ];
  for (const [text, message] of bad) {
    assert.throws(() => parseEdn(text), (err: unknown) => err instanceof EdnError && message.test(err.message), text);
  }
});
