// The client port's keepalive flags, named and written as etcd's (Go durations).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { duration, FlagError, parseFlags } from './flags.ts';

const parse = (...extra: string[]) => parseFlags(['--name', 'n1', ...extra])!;

test('keepalive defaults are etcd\'s: a ping after 2h of silence, 20s to answer it', () => {
  const c = parse();
  assert.equal(c.grpcKeepaliveIntervalMs, 2 * 3600_000);
  assert.equal(c.grpcKeepaliveTimeoutMs, 20_000);
});

test('keepalive flags take Go durations; 0 turns the pings off', () => {
  const c = parse('--grpc-keepalive-interval', '1m30s', '--grpc-keepalive-timeout', '5s');
  assert.equal(c.grpcKeepaliveIntervalMs, 90_000);
  assert.equal(c.grpcKeepaliveTimeoutMs, 5000);
  assert.equal(parse('--grpc-keepalive-interval', '0').grpcKeepaliveIntervalMs, 0);
  assert.equal(duration('x', '1.5h'), 5_400_000);
  assert.equal(duration('x', '2500ms'), 2500);
  assert.equal(duration('x', '.5s'), 500);
  assert.equal(duration('x', '+1.s'), 1000);
  for (const bad of ['', '+', '1h-5m', '1.5.5s', '1e3s', '-1s', '00']) assert.throws(() => duration('x', bad), /is not a duration/, bad);
});

test('bad keepalive values are refused naming the flag', () => {
  assert.throws(() => parse('--grpc-keepalive-interval', 'soon'), (e: Error) => e instanceof FlagError && /--grpc-keepalive-interval: "soon" is not a duration/.test(e.message));
  assert.throws(() => parse('--grpc-keepalive-interval', '90'), /is not a duration/);
  assert.throws(() => parse('--grpc-keepalive-interval', '500ms'), /--grpc-keepalive-interval: 500ms is under 1s \(0 turns keepalive pings off\)/);
  assert.throws(() => parse('--grpc-keepalive-timeout', '0'), /--grpc-keepalive-timeout: 0 is under 1s$/);
});
