// Leader election against an in-memory lease with the API server's 409 rules:
// one leader at a time, takeover only after the lease expired as observed
// locally, release on stop, and stepping down when renewals fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConflictError, LeaderElector, type LeaseRecord, type LeaseStore } from './leader-election.ts';

class MemoryLease implements LeaseStore {
  rec: LeaseRecord | undefined;
  rv = 0;
  down = false;
  async get() {
    if (this.down) throw new Error('connection refused');
    return this.rec ? { ...this.rec } : undefined;
  }
  async create(r: LeaseRecord) {
    if (this.down) throw new Error('connection refused');
    if (this.rec) throw new ConflictError('exists');
    this.rec = { ...r, resourceVersion: String(++this.rv) };
    return { ...this.rec };
  }
  async update(r: LeaseRecord) {
    if (this.down) throw new Error('connection refused');
    if (!this.rec || r.resourceVersion !== this.rec.resourceVersion) throw new ConflictError('stale');
    this.rec = { ...r, resourceVersion: String(++this.rv) };
    return { ...this.rec };
  }
  describe() {
    return 'memory lease';
  }
}

const quiet = { info() {}, warn() {} };
const timing = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

function elector(id: string, store: LeaseStore, clock: { now: number }, events: string[]) {
  return new LeaderElector({
    identity: id,
    store,
    timing,
    now: () => clock.now,
    log: quiet,
    onStartedLeading: () => events.push(`${id} leads`),
    onStoppedLeading: () => events.push(`${id} stopped`),
  });
}

test('only one of two operators leads; the other takes over after the lease expires', async () => {
  const store = new MemoryLease();
  const clock = { now: 1_000_000 };
  const events: string[] = [];
  const a = elector('a', store, clock, events);
  const b = elector('b', store, clock, events);
  await a.tick();
  await b.tick();
  assert.deepEqual(events, ['a leads']);
  // a keeps renewing: b never takes over
  for (let i = 0; i < 20; i++) {
    clock.now += 2000;
    await a.tick();
    await b.tick();
  }
  assert.equal(a.isLeader, true);
  assert.equal(b.isLeader, false);
  // a dies: b waits a full lease duration from when it last saw a change
  clock.now += 14_000;
  await b.tick();
  assert.equal(b.isLeader, false);
  clock.now += 2_000;
  await b.tick();
  assert.equal(b.isLeader, true);
  assert.equal(store.rec!.leaseTransitions, 1);
});

test('a leader that cannot renew within the renew deadline stops leading', async () => {
  const store = new MemoryLease();
  const clock = { now: 0 };
  const events: string[] = [];
  const a = elector('a', store, clock, events);
  await a.tick();
  store.down = true;
  for (let i = 0; i < 4; i++) {
    clock.now += 2000;
    await a.tick();
  }
  assert.equal(a.isLeader, true, 'still within the renew deadline');
  clock.now += 2000;
  await a.tick();
  assert.equal(a.isLeader, false);
  assert.deepEqual(events, ['a leads', 'a stopped']);
});

test('stop releases the lease so a standby takes over at once', async () => {
  const store = new MemoryLease();
  const clock = { now: 0 };
  const events: string[] = [];
  const a = elector('a', store, clock, events);
  const b = elector('b', store, clock, events);
  await a.tick();
  await b.tick();
  await a.stop();
  clock.now += 2000;
  await b.tick();
  assert.equal(b.isLeader, true);
});

test('two operators racing for a fresh lease: exactly one wins', async () => {
  const store = new MemoryLease();
  const clock = { now: 0 };
  const events: string[] = [];
  const a = elector('a', store, clock, events);
  const b = elector('b', store, clock, events);
  await Promise.all([a.tick(), b.tick()]);
  assert.equal(Number(a.isLeader) + Number(b.isLeader), 1);
});
