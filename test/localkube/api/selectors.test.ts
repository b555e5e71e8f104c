import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatLabelSelector, fromMetaLabelSelector, matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from './selectors.ts';
import { ApiError } from './errors.ts';

test('label selectors: =, ==, !=, in, notin, exists, !key, gt/lt', () => {
  const labels = { app: 'web', tier: 'front', n: '5' };
  const yes = ['app=web', 'app==web', 'app!=db', 'tier in (front,back)', 'tier notin (back)', 'app', '!missing', 'n>3', 'n<9', 'app=web,tier=front', ''];
  const no = ['app=db', 'app!=web', 'tier in (back)', 'tier notin (front)', 'missing', '!app', 'n>5', 'app=web,tier=back'];
  for (const s of yes) assert.ok(matchesLabels(parseLabelSelector(s), labels), s);
  for (const s of no) assert.ok(!matchesLabels(parseLabelSelector(s), labels), s);
  assert.ok(matchesLabels(parseLabelSelector('missing!=x'), labels), 'notin matches absent keys');
});

test('bad label selectors answer 400', () => {
  for (const s of ['app=', 'a b', 'app=web,', '(x)', 'bad key=1']) {
    if (s === 'app=') continue; // an empty value is allowed
    assert.throws(() => parseLabelSelector(s), (e: ApiError) => e.code === 400, s);
  }
  assert.ok(matchesLabels(parseLabelSelector('app='), { app: '' }));
});

test('metav1.LabelSelector object form, and formatting back', () => {
  const sel = fromMetaLabelSelector({ matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }, { key: 'x', operator: 'DoesNotExist' }] });
  assert.ok(matchesLabels(sel, { app: 'web', tier: 'a' }));
  assert.ok(!matchesLabels(sel, { app: 'web', tier: 'a', x: '1' }));
  assert.equal(formatLabelSelector(sel), 'app=web,tier in (a,b),!x');
  assert.throws(() => fromMetaLabelSelector({ matchExpressions: [{ key: 'a', operator: 'Near' }] }), (e: ApiError) => e.code === 400);
});

test('field selectors with escapes', () => {
  const reqs = parseFieldSelector('metadata.name=a\\,b,status.phase!=Failed');
  assert.deepEqual(reqs, [
    { field: 'metadata.name', value: 'a,b', negate: false },
    { field: 'status.phase', value: 'Failed', negate: true },
  ]);
  const values: Record<string, string> = { 'metadata.name': 'a,b', 'status.phase': 'Running' };
  assert.ok(matchesFields(reqs, (f) => values[f]));
  assert.throws(() => parseFieldSelector('nonsense'), (e: ApiError) => e.code === 400);
});
