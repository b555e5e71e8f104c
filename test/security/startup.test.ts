// A replica refuses to start on unusable TLS configuration with one line that
// names the flag to fix (exit 2 for flags, 1 for files), before it touches
// its data dir: a peer certificate that does not name this member, a key
// that does not belong to the certificate, a missing file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ClusterTls } from '../e2e/cluster-tls.ts';
import { REPLICA_MAIN, pickSubnet } from '../e2e/replica-cluster.ts';

const run = promisify(execFile);

async function start(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    await run(process.execPath, [REPLICA_MAIN, ...args], { timeout: 60_000 });
    return { code: 0, stderr: '' };
  } catch (e) {
    const err = e as { code: number; stderr: string };
    return { code: err.code, stderr: err.stderr };
  }
}

test('unusable TLS configuration stops the replica at start with the flag to fix', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-startup-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const tls = new ClusterTls(path.join(dir, 'tls'));
  const ip = `${pickSubnet()}.1`;
  tls.writeMember('a', `${ip.slice(0, ip.lastIndexOf('.'))}.9`); // certificates for another address
  const base = [
    '--name', 'a', '--data-dir', path.join(dir, 'data'),
    '--listen-client-urls', `https://${ip}:2379`, '--listen-peer-urls', `https://${ip}:2380`, '--listen-metrics-urls', `http://${ip}:2381`,
    ...tls.flags('a'),
  ];
  const f = tls.memberFiles('a');
  const [wrongHost, wrongKey, missing, badFlag] = await Promise.all([
    start(base),
    start([...base, '--key-file', f.peerKey]),
    start([...base, '--peer-trusted-ca-file', path.join(dir, 'nope.pem')]),
    start([...base, '--client-cert-auth', '--trusted-ca-file', '']),
  ]);
  assert.equal(wrongHost.code, 1);
  assert.match(wrongHost.stderr, /^replicant replica: --peer-cert-file .*peer\.pem: names CN=a, IP:127\.\d+\.\d+\.9, not this member's peer URL https:\/\/127\.\d+\.\d+\.1:2380 .*the other members would refuse it\n$/);
  assert.equal(wrongKey.code, 1);
  assert.match(wrongKey.stderr, /--key-file .*peer-key\.pem does not belong to the certificate in --cert-file/);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /--peer-trusted-ca-file .*nope\.pem: cannot be read \(ENOENT\)/);
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.stderr, /--client-cert-auth needs --trusted-ca-file/);
  assert.ok(!fs.existsSync(path.join(dir, 'data', 'member')), 'the data dir was not touched');
});
