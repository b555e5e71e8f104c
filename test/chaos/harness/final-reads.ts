// Final reads: after recovery, one linearizable read of every key, recorded in
// the history like any other call (each under a fresh process id), retried
// until one succeeds. With them in the history, the checker decides whether
// every acknowledged write is reflected in the final state: a lost write
// makes the history non-linearizable.
// It must never record a read it did not receive.
import { EtcdClient } from '../../e2e/etcd-client.ts';
import type { HistoryRecorder, RegisterValue } from '../history/index.ts';
import type { ChaosCluster } from './cluster.ts';
import { failureOutcome } from './outcome.ts';
import { decodeValue, etcdKey } from './workload.ts';

export interface FinalRead {
  key: number;
  value?: RegisterValue;
  member?: string;
  attempts: number;
}

/** finalReads reads every key once (retrying through the members in turn); `firstProcess` is the first unused process id. */
export async function finalReads(cluster: ChaosCluster, history: HistoryRecorder, keys: number, firstProcess: number, timeoutMs: number): Promise<FinalRead[]> {
  const out: FinalRead[] = [];
  let process = firstProcess;
  const deadline = Date.now() + timeoutMs;
  const clients = new Map<string, EtcdClient>();
  try {
    for (let key = 0; key < keys; key++) {
      const read: FinalRead = { key, attempts: 0 };
      out.push(read);
      while (Date.now() < deadline) {
        const members = cluster.members().filter((m) => cluster.reachable(m));
        if (members.length === 0) break;
        const m = members[(key + read.attempts) % members.length];
        let c = clients.get(m.name);
        if (!c) clients.set(m.name, (c = new EtcdClient(m.process.endpoint, 3000)));
        read.attempts++;
        const p = process++;
        history.invoke(p, { f: 'read', key });
        try {
          const value = decodeValue((await c.get(etcdKey(key)))?.value);
          history.ok(p, value);
          read.value = value;
          read.member = m.name;
          break;
        } catch (e) {
          history.fail(p, failureOutcome('read', e).error);
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    }
  } finally {
    for (const c of clients.values()) c.close();
  }
  return out;
}
