// Side by side with a real etcd 3.4 (Debian etcd-server): the same etcdctl
// script runs against a fresh etcd and against replicant's client API over a
// SingleNodeBackend, and the outputs must be identical once the values that
// legitimately differ (ids, ports, terms, raft indices, db sizes, versions,
// hashes, timings) are masked. Revisions, versions, keys, values, counts,
// txn results and error messages are compared as printed.
// Fails with install instructions if etcd or etcdctl is absent (CI installs both).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startEtcdApiServer } from './single-node-backend.ts';
import { Etcdctl, Processes, startRealEtcd } from './testing-etcd.ts';
import type { Run } from './testing-etcd.ts';

interface Step {
  args: string[];
  stdin?: string | Buffer;
  /** sortLines: the order of lines is not part of the contract (member lists). */
  sortLines?: boolean;
}

const LEARNER_PEER = 'http://127.0.0.1:1';

const SCRIPT: Step[] = [
  { args: ['put', 'foo', 'bar'] },
  { args: ['put', 'foo', 'baz', '-w', 'json'] },
  { args: ['get', 'foo', '-w', 'json'] },
  { args: ['get', 'missing', '-w', 'json'] },
  { args: ['put', 'fop', '1'] },
  { args: ['put', 'fo', '2'] },
  { args: ['get', 'fo', '--prefix'] },
  { args: ['get', 'fo', '--prefix', '--limit=1', '-w', 'json'] },
  { args: ['get', 'fo', '--prefix', '--keys-only'] },
  { args: ['get', 'fo', '--prefix', '--sort-by=MODIFY', '--order=DESCEND'] },
  { args: ['get', 'fo', '--prefix', '--sort-by=VALUE', '-w', 'json'] },
  { args: ['get', 'fo', 'fp', '--order=DESCEND', '--limit=2'] },
  { args: ['get', '--from-key', 'fop'] },
  { args: ['get', 'foo', '--rev=2', '-w', 'json'] },
  { args: ['get', 'foo', '--consistency=s', '-w', 'json'] },
  { args: ['del', 'fop'] },
  { args: ['del', 'nothing', '-w', 'json'] },
  { args: ['del', 'fo', '--prefix', '--prev-kv', '-w', 'json'] },
  { args: ['put', 'k1', 'v1'] },
  { args: ['put', 'k2', 'v2', '--prev-kv', '-w', 'json'] },
  { args: ['txn', '-w', 'json'], stdin: 'value("k1") = "v1"\n\nput k1 x\nget k1\ndel k2\n\nput k1 y\n\n' },
  { args: ['txn'], stdin: 'value("k1") = "v1"\n\nput k1 never\n\nput k1 y\nget k1\n\n' },
  { args: ['txn', '-w', 'json'], stdin: 'mod("k1") > "0"\nversion("k2") = "0"\ncreate("k1") < "100"\n\nget k1\n\n\n' },
  { args: ['txn'], stdin: '\nput a 1\nput a 2\n\n\n' },
  { args: ['txn'], stdin: '\ndel a c\nput b 1\n\n\n' },
  { args: ['compact', '3'] },
  { args: ['get', 'foo', '--rev=2'] },
  { args: ['get', 'foo', '--rev=3', '-w', 'json'] },
  { args: ['get', 'foo', '--rev=100'] },
  { args: ['compact', '2'] },
  { args: ['put', '', 'x'] },
  { args: ['get', 'k', '--prefix', '-w', 'json'] },
  { args: ['member', 'list'] },
  { args: ['member', 'list', '-w', 'json'] },
  { args: ['endpoint', 'status'] },
  { args: ['endpoint', 'status', '-w', 'json'] },
  { args: ['endpoint', 'hashkv', '-w', 'json'] },
  { args: ['endpoint', 'health'] },
  { args: ['member', 'remove', '1234'] },
  { args: ['member', 'promote', '1234'] },
  { args: ['member', 'add', 'newbie', '--peer-urls=ftp://nowhere'] },
  { args: ['member', 'add', 'newbie', `--peer-urls=${LEARNER_PEER}`, '--learner'] },
  { args: ['member', 'list'], sortLines: true },
  { args: ['put', 'big'], stdin: Buffer.alloc(1_700_000, 'a') },
  { args: ['get', 'big'] },
];

/** Masks for one target: strings that differ between etcd and replicant by nature. */
interface Masks {
  endpoint: string;
  peerURL: string;
}

const ID_FIELDS = new Set(['cluster_id', 'member_id', 'ID', 'leader']);
const VOLATILE_FIELDS = new Set(['raft_term', 'raftTerm', 'raftIndex', 'raftAppliedIndex', 'dbSize', 'dbSizeInUse', 'version', 'hash']);

function maskJson(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) {
    const items = value.map((v) => maskJson(v));
    return key === 'members' ? items.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))) : items;
  }
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskJson(v, k)]));
  }
  if (ID_FIELDS.has(key)) return '<id>';
  // `version` is also a KeyValue field (a number there): mask only the server version string.
  if (VOLATILE_FIELDS.has(key) && !(key === 'version' && typeof value === 'number')) return `<${key}>`;
  return value;
}

function mask(run: Run, step: Step, masks: Masks): { code: number | null; out: string; err: string } {
  const places = (s: string) => s.split(masks.endpoint).join('<endpoint>').split(masks.peerURL).join('<peer>');
  // Member and cluster ids print as hex in text output (JSON carries them as numbers, masked by field).
  const text = (s: string) => places(s)
    .replace(/took = [0-9.]+[µmn]?s/g, 'took = <t>')
    .replace(/\b[0-9a-f]{10,16}\b/g, '<id>');
  let out = run.stdout;
  const trimmed = out.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    out = JSON.stringify(maskJson(JSON.parse(places(trimmed))));
  } else if (step.args[0] === 'endpoint' && step.args[1] === 'status') {
    // endpoint, id, version, db size, is leader, is learner, term, index, applied index, errors
    out = text(out).split(', ').map((f, i) => ([2, 3, 6, 7, 8].includes(i) ? '<v>' : f)).join(', ');
  } else {
    out = text(out)
      .replace(/(Member|cluster)\s+<id>/g, '$1 <id>')
      // Members come in the server's order (etcd's is by random id): compare the set.
      .replace(/ETCD_INITIAL_CLUSTER="([^"]*)"/, (_m, list: string) => `ETCD_INITIAL_CLUSTER="${list.split(',').sort().join(',')}"`);
  }
  if (step.sortLines) out = out.trim().split('\n').sort().join('\n');
  // etcdctl logs a JSON retry warning before its final "Error: ..." line; compare that line.
  const err = text(run.stderr).split('\n').filter((l) => l.startsWith('Error:') || l.includes('is healthy')).join('\n');
  return { code: run.code, out, err };
}

test('etcdctl prints the same answers from replicant as from a real etcd 3.4', async (t) => {
  const procs = new Processes(t);
  const etcd = await startRealEtcd(t, procs);
  const ours = await startEtcdApiServer({ name: 'etcd-compare', peerURL: 'http://127.0.0.1:2380', clusterId: 0x1c0ffee1234567 });
  t.after(() => ours.stop());
  const etcdPeer = JSON.parse((await new Etcdctl(procs, [etcd.endpoint]).run(['member', 'list', '-w', 'json'])).stdout).members[0].peerURLs[0];
  const targets = [
    { ctl: new Etcdctl(procs, [etcd.endpoint]), masks: { endpoint: etcd.endpoint, peerURL: etcdPeer } },
    { ctl: new Etcdctl(procs, [ours.endpoint]), masks: { endpoint: ours.endpoint, peerURL: 'http://127.0.0.1:2380' } },
  ];
  const transcripts: Array<Array<{ step: string } & ReturnType<typeof mask>>> = [[], []];
  for (const step of SCRIPT) {
    const runs = await Promise.all(targets.map(({ ctl }) => ctl.run(step.args, step.stdin)));
    runs.forEach((run, i) => transcripts[i].push({ step: step.args.join(' '), ...mask(run, step, targets[i].masks) }));
  }
  const [fromEtcd, fromReplicant] = transcripts;
  if (process.env.REPLICANT_DUMP_TRANSCRIPT) console.log(JSON.stringify(fromReplicant, null, 1));
  for (let i = 0; i < SCRIPT.length; i++) {
    assert.deepEqual(fromReplicant[i], fromEtcd[i], `step ${i}: etcdctl ${SCRIPT[i].args.join(' ')}\netcd log tail:\n${etcd.logTail().slice(-1500)}`);
  }
  assert.deepEqual(ours.unexpected, []);
});
