// Peer URLs map to grpc targets; anything we cannot serve is refused with a reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePeerUrl } from './peer-url.ts';

test('http://host:port and https://host:port map to a grpc target', () => {
  assert.deepEqual(parsePeerUrl('http://127.0.0.1:2380'), { url: 'http://127.0.0.1:2380', target: '127.0.0.1:2380', host: '127.0.0.1', port: 2380, secure: false });
  assert.deepEqual(parsePeerUrl('https://m1.peers:2380'), { url: 'https://m1.peers:2380', target: 'm1.peers:2380', host: 'm1.peers', port: 2380, secure: true });
  assert.equal(parsePeerUrl('http://member-1.peers.ns.svc:2380/').target, 'member-1.peers.ns.svc:2380');
  assert.equal(parsePeerUrl('http://[::1]:2380').target, '[::1]:2380');
  assert.equal(parsePeerUrl('http://127.0.0.1:0', 'listen URL', true).port, 0);
});

test('URLs we cannot serve are refused with the reason', () => {
  assert.throws(() => parsePeerUrl('127.0.0.1:2380'), /must use http:\/\/|not a URL/);
  assert.throws(() => parsePeerUrl('unix://x:2380'), /must use http:\/\/ or https:\/\//);
  assert.throws(() => parsePeerUrl('https://127.0.0.1'), /must name a port, for example https:/);
  assert.throws(() => parsePeerUrl('http://127.0.0.1'), /must name a port/);
  assert.throws(() => parsePeerUrl('http://127.0.0.1:2380/raft'), /without a path/);
  assert.throws(() => parsePeerUrl('http://127.0.0.1:0'), /invalid port 0/);
  assert.throws(() => parsePeerUrl('nonsense'), /not a URL/);
});
