// A peer whose process is gone: after an established stream breaks, a redial
// refused at the TCP level (nothing listens at the address) is reported apart
// from "unreachable". A link that never connected, a connection reset by a
// listener that still accepts, and a silent peer are never reported so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { isConnectionRefused } from './peer-link.ts';
import { GrpcChannel } from '../grpc/client.ts';
import { raftServiceDefinition, channelOptions, callMetadata, callHeaders, raftCodecs } from './service.ts';
import { RAFT_SERVICE } from './wire.ts';
import { DEFAULT_TUNING } from './transport.ts';
import { app, LinkProxy, startMember, waitFor } from './testkit.ts';

const fast = { backoffInitialMs: 20, backoffMaxMs: 200 };

/** deadUrl returns a peer URL on 127.0.0.1 that nothing listens on (a transport bound it and closed). */
async function deadUrl(): Promise<string> {
  const dead = await startMember(99);
  const url = dead.transport.listenUrl;
  await dead.transport.close();
  return url;
}

test('our gRPC client and grpc-js both report a refused dial as UNAVAILABLE with ECONNREFUSED in its details (the wording isConnectionRefused relies on)', async () => {
  const url = new URL(await deadUrl());
  const channel = new GrpcChannel({ host: url.hostname, port: Number(url.port), maxReceiveBytes: 1024 });
  try {
    const [code, details] = await new Promise<[grpc.status, string]>((resolve) => {
      const call = channel.call(raftCodecs().stream, callHeaders(1, 'c'));
      call.onStatus = (c, d) => resolve([c, d]);
    });
    assert.equal(code, grpc.status.UNAVAILABLE);
    assert.ok(isConnectionRefused(code, details), `details: ${details}`);
  } finally {
    channel.close();
  }
  // grpc-js (the other tools and older members dial with it) words it differently; the same check holds
  const Client = grpc.makeGenericClientConstructor(raftServiceDefinition(), RAFT_SERVICE);
  const client = new Client(`${url.hostname}:${url.port}`, grpc.credentials.createInsecure(), channelOptions(DEFAULT_TUNING, { initialMs: 20, maxMs: 200 }));
  try {
    const err = await new Promise<grpc.ServiceError>((resolve) => {
      const call = (client as unknown as { Stream(md: grpc.Metadata): grpc.ClientDuplexStream<unknown, unknown> }).Stream(callMetadata(1, 'c'));
      call.on('error', resolve);
    });
    assert.equal(err.code, grpc.status.UNAVAILABLE);
    assert.ok(isConnectionRefused(err.code, err.details), `details: ${err.details}`);
  } finally {
    client.close();
  }
  assert.equal(isConnectionRefused(grpc.status.UNAVAILABLE, 'Connection dropped'), false);
  assert.equal(isConnectionRefused(grpc.status.UNAVAILABLE, 'read ECONNRESET'), false);
  assert.equal(isConnectionRefused(grpc.status.DEADLINE_EXCEEDED, 'connect ECONNREFUSED 127.0.0.1:1'), false);
  assert.equal(isConnectionRefused(grpc.status.UNAVAILABLE, 'getaddrinfo ENOTFOUND member-2'), false);
});

test('a peer whose process stopped is reported refused within a few backoff periods of its stream breaking', async (t) => {
  const a = await startMember(1, { tuning: fast });
  const b = await startMember(2);
  t.after(() => Promise.all([a.transport.close(), b.transport.close()]));
  a.transport.addPeer(2, b.transport.listenUrl);
  a.transport.send([app(1, 2, 0)]);
  await waitFor('first delivery', () => b.received.length === 1);
  assert.deepEqual(a.refused, []);

  const stoppedAt = performance.now();
  await b.transport.close(); // its port closes: the host answers, nothing listens
  await waitFor('peer reported refused', () => a.refused.includes(2), 3000);
  const ms = performance.now() - stoppedAt;
  assert.ok(ms < 1000, `reported ${Math.round(ms)} ms after the stop`);
  assert.ok(a.unreachable.includes(2), 'unreachable is reported too');
  assert.ok(a.refused.every((p) => p === 2));
  assert.ok(a.transport.stats().peers['2'].refusedAfterBreak >= 1);
});

test('a link that never connected, a reset by a listener that still accepts, and a silent peer are not reported refused', async (t) => {
  const a = await startMember(1, { tuning: { ...fast, keepaliveTimeMs: 200, keepaliveTimeoutMs: 300, connectTimeoutMs: 400 } });
  const b = await startMember(2);
  const c = await startMember(3);
  const proxyB = new LinkProxy(Number(new URL(b.transport.listenUrl).port));
  const proxyC = new LinkProxy(Number(new URL(c.transport.listenUrl).port));
  const [urlB, urlC] = [await proxyB.start(), await proxyC.start()];
  t.after(async () => {
    await Promise.all([a.transport.close(), b.transport.close(), c.transport.close()]);
    await Promise.all([proxyB.close(), proxyC.close()]);
  });

  // Never connected: refused dials to an address nobody listens on say nothing about a process that was there.
  a.transport.addPeer(4, await deadUrl());
  await waitFor('never-connected peer unreachable', () => a.unreachable.filter((p) => p === 4).length >= 3, 3000);

  a.transport.addPeer(2, urlB);
  a.transport.addPeer(3, urlC);
  a.transport.send([app(1, 2, 0), app(1, 3, 0)]);
  await waitFor('first deliveries', () => b.received.length === 1 && c.received.length === 1);
  // 2's connections are reset and new ones accepted then closed; 3 goes silent.
  proxyB.cut();
  proxyC.blackhole();
  await waitFor('reset peer redialled several times', () => a.unreachable.filter((p) => p === 2).length >= 3, 3000);
  await waitFor('silent peer detected and redialled', () => a.unreachable.filter((p) => p === 3).length >= 2, 4000);
  assert.deepEqual(a.refused, [], 'no refusal reported');
  const s = a.transport.stats().peers;
  assert.equal(s['2'].refusedAfterBreak + s['3'].refusedAfterBreak + s['4'].refusedAfterBreak, 0);
});
