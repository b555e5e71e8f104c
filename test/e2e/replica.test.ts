// Process-level tests of the replica: real processes on 127.0.0.0/8, the real
// etcdctl and the etcd3 npm client, kill -9 under load, membership changes
// through the admin API while clients write, catch-up through snapshots, and
// bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { ReplicaCluster, waitFor, type MemberProcess } from './replica-cluster.ts';
import { EtcdClient } from './etcd-client.ts';

const run = promisify(execFile);

async function etcdctl(endpoints: string[], args: string[], input?: string): Promise<string> {
  const child = run('etcdctl', [`--endpoints=${endpoints.join(',')}`, '--command-timeout=10s', ...args], {
    env: { ...process.env, ETCDCTL_API: '3' },
  });
  if (input !== undefined) {
    child.child.stdin!.end(input);
  }
  const { stdout } = await child;
  return stdout;
}

/** isRetryable: the only client errors a writer may see while the group changes leaders. */
function isRetryable(e: unknown): boolean {
  const msg = (e as Error).message ?? '';
  return /leader changed|no leader|request timed out|UNAVAILABLE|DEADLINE_EXCEEDED|server stopped|Connection dropped|No connection established/.test(msg);
}

/** Writer puts unique keys in a loop, retrying only retryable errors, and records what was acknowledged. */
class Writer {
  readonly acked = new Map<string, string>();
  readonly errors: string[] = [];
  retries = 0;
  private running = true;
  private readonly done: Promise<void>;

  constructor(t: { after(fn: () => Promise<void>): void }, endpoints: string[], prefix: string) {
    // Stopped when the test ends, also when an assertion failed first.
    t.after(() => this.stop());
    let i = 0;
    const clients = endpoints.map((e) => new EtcdClient(e, 3000));
    this.done = (async () => {
      let c = 0;
      while (this.running) {
        const key = `${prefix}/${i}`;
        const value = `v${i}`;
        try {
          await clients[c % clients.length].put(key, value);
          this.acked.set(key, value);
          i++;
        } catch (e) {
          if (isRetryable(e)) {
            this.retries++;
            c++; // try another member
          } else {
            this.errors.push((e as Error).message);
            i++;
          }
        }
      }
      for (const cl of clients) cl.close();
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

async function waitConverged(cluster: ReplicaCluster, ms: MemberProcess[]): Promise<void> {
  await waitFor(
    'members to hold identical data',
    async () => {
      const st = await Promise.all(ms.map((m) => cluster.adminStatus(m)));
      const applied = new Set(st.map((s) => s.appliedIndex));
      if (applied.size !== 1) return false;
      const hashes = await Promise.all(ms.map((m) => cluster.client(m).hashKV()));
      return new Set(hashes).size === 1;
    },
    30_000,
  );
}

test('etcdctl works against a 3-member group', async (t) => {
  const cluster = new ReplicaCluster(t);
  const ms = await cluster.launch(3);
  const eps = ms.map((m) => m.endpoint);
  assert.equal((await etcdctl(eps, ['put', 'greeting', 'hello'])).trim(), 'OK');
  assert.equal((await etcdctl([ms[2].endpoint], ['get', 'greeting'])).trim(), 'greeting\nhello');
  await etcdctl(eps, ['put', 'dir/a', '1']);
  await etcdctl(eps, ['put', 'dir/b', '2']);
  assert.equal((await etcdctl(eps, ['get', '--prefix', 'dir/'])).trim(), 'dir/a\n1\ndir/b\n2');
  assert.equal((await etcdctl([ms[1].endpoint], ['get', '--consistency=s', 'dir/b'])).trim(), 'dir/b\n2');
  assert.equal((await etcdctl(eps, ['del', 'dir/a'])).trim(), '1');
  const txn = await etcdctl(eps, ['txn'], 'value("greeting") = "hello"\n\nput greeting bye\n\nput greeting nope\n\n');
  assert.match(txn, /SUCCESS\s+OK/);
  assert.equal((await etcdctl(eps, ['get', 'greeting', '--print-value-only'])).trim(), 'bye');
  const members = await etcdctl(eps, ['member', 'list', '-w', 'json']);
  const list = JSON.parse(members).members as { name: string; peerURLs: string[]; clientURLs: string[] }[];
  assert.deepEqual(list.map((m) => m.name).sort(), ['m1', 'm2', 'm3']);
  for (const m of list) assert.equal(m.clientURLs.length, 1);
  const status = JSON.parse(await etcdctl(eps, ['endpoint', 'status', '-w', 'json'])) as { Status: { leader: number; raftIndex: number } }[];
  assert.equal(status.length, 3);
  assert.equal(new Set(status.map((s) => s.Status.leader)).size, 1, 'every member reports the same leader');
  await waitConverged(cluster, ms);
  const hashes = JSON.parse(await etcdctl(eps, ['endpoint', 'hashkv', '-w', 'json'])) as { HashKV: { hash: number } }[];
  assert.equal(new Set(hashes.map((h) => h.HashKV.hash)).size, 1, 'equal hashes on every member');
});

test('the etcd3 npm client works unchanged', async (t) => {
  const cluster = new ReplicaCluster(t);
  const ms = await cluster.launch(3);
  const client = new Etcd3({ hosts: ms.map((m) => m.clientUrl) });
  t.after(() => client.close());
  await client.put('fruit/apple').value('red');
  await client.put('fruit/banana').value('yellow');
  assert.equal(await client.get('fruit/apple').string(), 'red');
  assert.deepEqual(await client.getAll().prefix('fruit/').strings(), { 'fruit/apple': 'red', 'fruit/banana': 'yellow' });
  const res = await client.if('fruit/apple', 'Value', '==', 'red').then(client.put('fruit/apple').value('green')).commit();
  assert.equal(res.succeeded, true);
  assert.equal(await client.get('fruit/apple').string(), 'green');
  await client.delete().key('fruit/banana');
  assert.equal(await client.get('fruit/banana').string(), null);
});

test('kill -9 of the leader under write load loses no acknowledged write; it restarts and catches up', async (t) => {
  const cluster = new ReplicaCluster(t);
  const ms = await cluster.launch(3);
  const writers = [0, 1, 2, 3].map((i) => new Writer(t, ms.map((m) => m.endpoint), `load${i}`));
  await waitFor('some writes', () => writers.every((w) => w.acked.size > 20));
  const leader = await cluster.waitLeader(ms);
  const before = writers.reduce((n, w) => n + w.acked.size, 0);
  await cluster.kill(leader);
  const survivors = ms.filter((m) => m !== leader);
  await cluster.waitLeader(survivors);
  await waitFor('writes to resume', () => writers.reduce((n, w) => n + w.acked.size, 0) > before + 100, 30_000);
  await Promise.all(writers.map((w) => w.stop()));
  for (const w of writers) assert.deepEqual(w.errors, [], 'only leader-change errors are allowed');
  // Every acknowledged write is readable (linearizable reads from a survivor).
  const reader = cluster.client(survivors[0]);
  for (const w of writers) {
    for (const [k, v] of w.acked) assert.equal((await reader.get(k))?.value, v, `acknowledged ${k} lost`);
  }
  // The killed member restarts from its data dir and catches up.
  cluster.start(leader, 'new', cluster.initialCluster(ms));
  await waitConverged(cluster, ms);
  const sample = [...writers[0].acked].slice(-5);
  for (const [k, v] of sample) assert.equal((await cluster.client(leader).get(k, { serializable: true }))?.value, v);
});

test('replace a member through the admin API while a client writes', async (t) => {
  const cluster = new ReplicaCluster(t);
  const ms = await cluster.launch(3);
  const writer = new Writer(t, ms.map((m) => m.endpoint), 'during-change');
  await waitFor('some writes', () => writer.acked.size > 20);
  const leader = await cluster.waitLeader(ms);
  const old = ms.find((m) => m !== leader)!;
  const oldId = (await cluster.adminStatus(old)).memberId;
  // The replacement starts first and waits to be added.
  const fresh = cluster.define();
  cluster.start(fresh, 'existing', cluster.initialCluster([...ms, fresh]));
  const res = await cluster.admin(ms[0], 'ChangeMembership', {
    requestId: 'replace-1',
    add: [{ name: fresh.name, peerUrls: [fresh.peerUrl] }],
    remove: [oldId],
  });
  assert.equal(res.configuration.joint, false);
  assert.equal(res.added.length, 1);
  const freshId = res.added[0].id;
  assert.ok(res.configuration.voters.includes(freshId));
  assert.ok(!res.configuration.voters.includes(oldId));
  // Retrying the same request changes nothing.
  const again = await cluster.admin(ms[0], 'ChangeMembership', { requestId: 'replace-1', add: [{ name: fresh.name, peerUrls: [fresh.peerUrl] }], remove: [oldId] });
  assert.deepEqual([...again.configuration.voters].sort(), [...res.configuration.voters].sort());
  const beforeStop = writer.acked.size;
  await cluster.kill(old);
  await waitFor('writes after the change', () => writer.acked.size > beforeStop + 50, 30_000);
  await writer.stop();
  assert.deepEqual(writer.errors, []);
  const remaining = [...ms.filter((m) => m !== old), fresh];
  const names = (await cluster.client(remaining[0]).memberList()).map((m) => m.name).sort();
  assert.deepEqual(names, remaining.map((m) => m.name).sort());
  await waitConverged(cluster, remaining);
  for (const [k, v] of [...writer.acked].slice(-20)) assert.equal((await cluster.client(fresh).get(k))?.value, v);
});

test('a member that falls behind a snapshot catches up through InstallSnapshot', async (t) => {
  const cluster = new ReplicaCluster(t, { extraFlags: ['--snapshot-count', '40', '--snapshot-catchup-entries', '5'] });
  const ms = await cluster.launch(3);
  const lagger = ms[2];
  await cluster.kill(lagger);
  // If the lagger led, the other two elect a leader first (slow on a loaded machine).
  await cluster.waitLeader([ms[0], ms[1]]);
  const c = cluster.client(ms[0]);
  for (let i = 0; i < 150; i++) await c.put(`snap/${i}`, `${i}`);
  cluster.start(lagger, 'new', cluster.initialCluster(ms));
  await waitConverged(cluster, ms);
  const metrics = await (await fetch(`${lagger.metricsUrl}/metrics`)).text();
  assert.match(metrics, /replicant_snapshots_total\{[^}]*kind="installed"[^}]*\} [1-9]/);
  assert.equal((await cluster.client(lagger).get('snap/149', { serializable: true }))?.value, '149');
  // The leader held no snapshot image in memory: it read the one it sent back from its file.
  assert.ok(
    [ms[0], ms[1]].some((m) => m.log.some((line) => line.includes('read the snapshot back from its file to send it to a follower'))),
    cluster.logTail(),
  );
});

test('SIGTERM on the leader hands leadership over and exits 0', async (t) => {
  const cluster = new ReplicaCluster(t);
  const ms = await cluster.launch(3);
  const leader = await cluster.waitLeader(ms);
  const started = Date.now();
  const code = await cluster.stop(leader);
  assert.equal(code, 0);
  assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
  const next = await cluster.waitLeader(ms.filter((m) => m !== leader), 3000);
  assert.notEqual(next, leader);
});

test('bad input gets a clear error and the server keeps serving', async (t) => {
  const cluster = new ReplicaCluster(t);
  const ms = await cluster.launch(3);
  const c = cluster.client(ms[0]);
  // Over --max-request-bytes (1.5 MiB) but within gRPC's frame limit: etcd's own error.
  await assert.rejects(c.put('big', Buffer.alloc(1.6 * 1024 * 1024)), /etcdserver: request is too large/);
  // Beyond the gRPC limit (max-request-bytes + 512 KiB, as etcd sets it): refused by gRPC.
  await assert.rejects(c.put('bigger', Buffer.alloc(3 * 1024 * 1024)), /RESOURCE_EXHAUSTED/);
  await assert.rejects(c.memberRemove(12345), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND && /member not found/.test(e.message));
  // Garbage bytes on a method: a decode error, not a crash.
  const raw = new grpc.Client(ms[0].endpoint, grpc.credentials.createInsecure());
  t.after(() => raw.close());
  const err = await new Promise<grpc.ServiceError>((resolve) =>
    raw.makeUnaryRequest('/etcdserverpb.KV/Put', (b: Buffer) => b, (b: Buffer) => b, Buffer.from([0xff, 0xff, 0xff, 0x0f, 0x01]), (e) => resolve(e as grpc.ServiceError)),
  );
  assert.ok(err && err.code !== grpc.status.OK, 'malformed request rejected');
  assert.equal((await c.put('still', 'alive')).revision > 0, true);
  assert.equal((await c.get('still'))?.value, 'alive');
});
