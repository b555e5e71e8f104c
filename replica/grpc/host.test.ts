// bareHost: the brackets of an IPv6 literal go, nothing else changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bareHost } from './host.ts';

test('bareHost strips the brackets of an IPv6 literal and leaves other hosts alone', () => {
  assert.equal(bareHost('[::1]'), '::1');
  assert.equal(bareHost('[fe80::1%25eth0]'), 'fe80::1%25eth0');
  assert.equal(bareHost('::1'), '::1');
  assert.equal(bareHost('127.0.0.1'), '127.0.0.1');
  assert.equal(bareHost('example.test'), 'example.test');
  assert.equal(bareHost('[::1'), '[::1', 'half a bracket pair is not an IPv6 literal');
  assert.equal(bareHost('[]'), '');
  assert.equal(bareHost(''), '');
});
