import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyDefaults, pruneUnknown, validateAgainstSchema } from './schema.ts';
import { evaluateJsonPath, setPath } from './jsonpath.ts';
import { humanDuration } from './printing.ts';

const schema = {
  type: 'object',
  properties: {
    spec: {
      type: 'object',
      required: ['image'],
      properties: {
        replicas: { type: 'integer', minimum: 1, maximum: 9, default: 3 },
        image: { type: 'string', pattern: '^[a-z]+$', minLength: 2 },
        mode: { type: 'string', enum: ['fast', 'safe'] },
        port: { 'x-kubernetes-int-or-string': true },
        members: { type: 'array', maxItems: 2, items: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } },
        labels: { type: 'object', additionalProperties: { type: 'string' } },
        extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
        note: { type: 'string', nullable: true },
      },
    },
  },
};

const messages = (value: unknown) => validateAgainstSchema(value, schema, '').map((e) => `${e.field}: ${e.message}`);

test('valid objects pass, defaults fill in', () => {
  const obj = { spec: { image: 'abc', port: 'http', note: null, labels: { a: 'b' }, extra: { anything: [1] } } };
  applyDefaults(obj, schema);
  assert.equal((obj.spec as { replicas?: number }).replicas, 3);
  assert.deepEqual(messages(obj), []);
});

test('violations carry field paths and the API server wording', () => {
  assert.deepEqual(messages({ spec: { replicas: 'three', mode: 'slow' } }), [
    'spec.image: Required value',
    'spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"',
    'spec.mode: Unsupported value: "slow": supported values: "fast", "safe"',
  ]);
  assert.deepEqual(messages({ spec: { image: 'A', replicas: 10 } }).sort(), [
    'spec.image: Invalid value: "A": spec.image in body should be at least 2 chars long',
    'spec.image: Invalid value: "A": spec.image in body should match \'^[a-z]+$\'',
    'spec.replicas: Invalid value: 10: spec.replicas in body should be less than or equal to 9',
  ]);
  assert.deepEqual(messages({ spec: { image: 'ab', port: 1.5, members: [{ name: 'a' }, {}, { name: 1 }], labels: { a: 1 } } }), [
    'spec.port: Invalid value: "number": spec.port in body must be of type integer,string: "number"',
    'spec.members: Too many: 3: must have at most 2 items',
    'spec.members[1].name: Required value',
    'spec.members[2].name: Invalid value: "integer": spec.members[2].name in body must be of type string: "integer"',
    'spec.labels.a: Invalid value: "integer": spec.labels.a in body must be of type string: "integer"',
  ]);
});

test('unknown fields are pruned and reported, unless preserved', () => {
  const obj = { apiVersion: 'x/v1', kind: 'X', metadata: { name: 'n' }, spec: { image: 'ab', colour: 'blue', extra: { keep: 1 } }, other: 1 };
  assert.deepEqual(pruneUnknown(obj, schema, '', true).sort(), ['other', 'spec.colour']);
  assert.deepEqual(obj, { apiVersion: 'x/v1', kind: 'X', metadata: { name: 'n' }, spec: { image: 'ab', extra: { keep: 1 } } });
});

test('jsonpath subset for printer columns and scale paths', () => {
  const obj = { status: { conditions: [{ type: 'Ready', status: 'True' }, { type: 'Degraded', status: 'False' }], members: [{ n: 1 }, { n: 2 }] } };
  assert.deepEqual(evaluateJsonPath(obj, '.status.conditions[?(@.type=="Ready")].status'), ['True']);
  assert.deepEqual(evaluateJsonPath(obj, '{.status.members[*].n}'), [1, 2]);
  assert.deepEqual(evaluateJsonPath(obj, '.status.members[-1].n'), [2]);
  assert.deepEqual(evaluateJsonPath(obj, '.status.missing'), []);
  const target: Record<string, unknown> = {};
  setPath(target, '.spec.replicas', 5);
  assert.deepEqual(target, { spec: { replicas: 5 } });
});

test('ages print like kubectl', () => {
  const s = 1000;
  assert.equal(humanDuration(45 * s), '45s');
  assert.equal(humanDuration(119 * s), '119s');
  assert.equal(humanDuration(5 * 60 * s + 3 * s), '5m3s');
  assert.equal(humanDuration(90 * 60 * s), '90m');
  assert.equal(humanDuration(5 * 3600 * s + 30 * 60 * s), '5h30m');
  assert.equal(humanDuration(30 * 3600 * s), '30h');
  assert.equal(humanDuration(3 * 86400 * s + 3600 * s), '3d1h');
  assert.equal(humanDuration(400 * 86400 * s), '400d');
});
