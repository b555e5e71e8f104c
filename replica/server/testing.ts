// Test helpers: a one-member group started in this process (its own fsync is
// the whole quorum), a group of several members in this process (each on its
// own loopback address), puts proposed straight to a node, and polling with
// a deadline. For tests only; nothing in the product imports it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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

/**
 * startGroup starts a group of `size` members in this process, each on its
 * own address of a random 127.x.y.0/24 (so that test files running in
 * parallel never share a port), in a temporary directory; they are stopped
 * and the directory removed when the test ends (`extraFlags` go to every
 * member). Resolves once one of them leads.
 */
export async function startGroup(t: TestContext, size: number, extraFlags: string[] = []): Promise<{ handles: ReplicaHandle[]; leader: ReplicaHandle }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-group-'));
  const net = `127.${100 + Math.floor(Math.random() * 100)}.${Math.floor(Math.random() * 250)}`;
  const names = Array.from({ length: size }, (_, i) => `m${i + 1}`);
  const cluster = names.map((n, i) => `${n}=http://${net}.${i + 1}:2380`).join(',');
  const handles: ReplicaHandle[] = [];
  t.after(async () => {
    for (const h of handles) await h.stop({ transferLeadership: false }).catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  });
  for (const [i, name] of names.entries()) {
    const config = parseFlags([
      '--name', name,
      '--data-dir', path.join(dir, name),
      '--listen-client-urls', `http://${net}.${i + 1}:0`,
      '--listen-peer-urls', `http://${net}.${i + 1}:2380`,
      '--listen-metrics-urls', `http://${net}.${i + 1}:0`,
      '--initial-cluster', cluster,
      '--heartbeat-interval', '20',
      '--election-timeout', '200',
      ...extraFlags,
    ])!;
    handles.push(await startReplica(config, { logger: pino({ level: 'silent' }) }));
  }
  await until('one member leads', () => handles.some((h) => h.node.status().state === 'leader'));
  return { handles, leader: handles.find((h) => h.node.status().state === 'leader')! };
}

let nextRequest = 1;

/** proposePut proposes key=value (latin1) to the member's node and resolves once it is applied there. */
export function proposePut(handle: ReplicaHandle, key: string, value = 'v'): Promise<KvResult> {
  const cmd: KvCommand = { kind: 'put', requestId: nextRequest++, request: { key: Buffer.from(key), value: Buffer.from(value, 'latin1') } };
  return handle.node.proposeKv(cmd, encodeCommand(cmd));
}
