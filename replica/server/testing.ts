// Test helpers: a one-member group started in this process (its own fsync is
// the whole quorum), puts proposed straight to its node, and polling with a
// deadline. For tests only; nothing in the product imports it.
import type { TestContext } from 'node:test';
import pino from 'pino';
import { encodeCommand, type KvCommand, type KvResult } from '../kv/index.ts';
import { parseFlags } from './flags.ts';
import { startReplica, type ReplicaHandle } from './server.ts';

/** until polls `cond` every few milliseconds and throws once `ms` passed without it holding. */
export async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`not within ${ms / 1000} s: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * startOneMember starts a one-member group on 127.0.0.1 (ports picked by the
 * system) in `dir`, stopped when the test ends, and waits until it leads.
 */
export async function startOneMember(t: TestContext, dir: string, onFatal: (e: Error) => void, extraFlags: string[] = []): Promise<ReplicaHandle> {
  const config = parseFlags([
    '--name', 'n1',
    '--data-dir', dir,
    '--listen-client-urls', 'http://127.0.0.1:0',
    '--listen-peer-urls', 'http://127.0.0.1:0',
    '--listen-metrics-urls', 'http://127.0.0.1:0',
    '--initial-cluster', 'n1=http://127.0.0.1:1',
    '--initial-advertise-peer-urls', 'http://127.0.0.1:1',
    '--heartbeat-interval', '20',
    '--election-timeout', '200',
    ...extraFlags,
  ])!;
  const handle = await startReplica(config, { logger: pino({ level: 'silent' }), onFatal });
  t.after(() => handle.stop({ transferLeadership: false }));
  await until('the one member leads', () => handle.node.status().state === 'leader');
  return handle;
}

let nextRequest = 1;

/** proposePut proposes key=value (latin1) to the member's node and resolves once it is applied there. */
export function proposePut(handle: ReplicaHandle, key: string, value = 'v'): Promise<KvResult> {
  const cmd: KvCommand = { kind: 'put', requestId: nextRequest++, request: { key: Buffer.from(key), value: Buffer.from(value, 'latin1') } };
  return handle.node.proposeKv(cmd, encodeCommand(cmd));
}
