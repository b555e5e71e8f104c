// A follower acknowledges an append before it applies what the same append
// told it is committed: its WAL save returns with the fsync done, so applying
// first would only hold back the acknowledgement the leader's commit waits
// on. Three members in this process, each on its own loopback address.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Message } from '../raft/index.ts';
import type { ReplicaHandle } from './server.ts';
import { proposePut, startGroup, until } from './testing.ts';

interface Event {
  ready: number;
  kind: 'ack' | 'apply';
  index: number;
}

/** watch records, per Ready of `handle`'s loop, the acknowledgements it sends and the entries it applies (white-box). */
function watch(handle: ReplicaHandle): Event[] {
  const events: Event[] = [];
  const node = handle.node as unknown as {
    handleReady(rd: unknown): Promise<void>;
    peers: { send(msgs: Message[]): void };
    applyEntry(e: { index: number }): void;
  };
  let ready = 0;
  const handleReady = node.handleReady.bind(node);
  node.handleReady = (rd) => {
    ready++;
    return handleReady(rd);
  };
  const peers = node.peers;
  const send = peers.send.bind(peers);
  peers.send = (msgs) => {
    for (const m of msgs) if (m.type === 'appResp' && !m.reject) events.push({ ready, kind: 'ack', index: m.index });
    send(msgs);
  };
  const applyEntry = node.applyEntry.bind(node);
  node.applyEntry = (e) => {
    events.push({ ready, kind: 'apply', index: e.index });
    applyEntry(e);
  };
  return events;
}

test('a follower sends its acknowledgement before applying the entries the same append committed', async (t) => {
  const { handles, leader } = await startGroup(t, 3);
  const followers = handles.filter((h) => h !== leader);
  const watched = followers.map(watch);

  // Back-to-back puts: each append to a follower carries the commit of the put before.
  for (let i = 0; i < 200; i++) await proposePut(leader, `k${i % 10}`, `v${i}`);
  await until('the followers applied every put', () => followers.every((f) => f.node.kv.appliedIndex >= leader.node.kv.appliedIndex));

  let both = 0;
  for (const events of watched) {
    const byReady = new Map<number, Event[]>();
    for (const e of events) byReady.set(e.ready, [...(byReady.get(e.ready) ?? []), e]);
    for (const [ready, list] of byReady) {
      const firstAck = list.findIndex((e) => e.kind === 'ack');
      const firstApply = list.findIndex((e) => e.kind === 'apply');
      if (firstAck < 0 || firstApply < 0) continue;
      both++;
      assert.ok(firstAck < firstApply, `Ready ${ready}: applied ${list[firstApply].index} before acknowledging ${list[firstAck].index}`);
    }
  }
  assert.ok(both > 0, 'some Ready both acknowledged new entries and applied committed ones');
});
