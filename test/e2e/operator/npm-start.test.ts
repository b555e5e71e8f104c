// Operator end-to-end, the newcomer's walkthrough (issue 9, scenario 10): the
// README's steps, run as written — `npm start` brings up localkube, the
// operator and examples/replicagroup.yaml; `kubectl get rg` shows it
// Available; the README's etcdctl block (TLS with the example-app Secret)
// runs as it stands; `kubectl scale` grows it; a member's pod deleted comes back on
// its volume; a member's pod and volume deleted is replaced by a new member;
// Ctrl-C stops everything, pod processes included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { processAlive, waitFor } from '../../localkube/index.ts';
import { LocalkubeHooks } from '../../localkube/index.ts';
import { REPO_ROOT } from '../../localkube/kubelet/env.ts';

const run = promisify(execFile);

test('scenario 10: npm start, then kubectl get, scale and a member kill as the README says', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-npm-start-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const kubeconfig = path.join(dir, 'kubeconfig');
  // `npm start -- --kubeconfig FILE`: the README's command, with the kubeconfig outside the repository.
  const child = spawn('npm', ['start', '--', '--kubeconfig', kubeconfig], { cwd: REPO_ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  t.after(async () => {
    // Ctrl-C if still running, then make sure the whole process group is gone.
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid!, 'SIGINT');
      } catch {
        // gone
      }
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000).unref())]);
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
  const env = { ...process.env, KUBECONFIG: kubeconfig, KUBECACHEDIR: path.join(dir, 'cache'), HOME: dir };
  const kubectl = async (...args: string[]) => (await run('kubectl', args, { env })).stdout;
  const started = Date.now();
  await waitFor('npm start to print the KUBECONFIG line', () => out.includes(`export KUBECONFIG=${kubeconfig}`), 120_000, 200);
  assert.match(out, /applied replicagroups\/example/);
  assert.match(out, /started the operator \(pid \d+\)/);
  const phase = async () => (await kubectl('get', 'rg', 'example', '-o', 'jsonpath={.status.phase} {.status.replicas} {.status.readyReplicas} {.status.faultTolerance.current}')).trim();
  await waitFor('example Available with 3 members', async () => (await phase()) === 'Available 3 3 1', 180_000, 500);
  t.diagnostic(`scenario 10: npm start to Available in ${Date.now() - started} ms`);
  const table = await kubectl('get', 'rg');
  assert.match(table, /^NAME\s+REPLICAS\s+READY\s+LEADER\s+TOLERATES\s+PHASE\s+AGE\n/);
  assert.match(table, /\nexample\s+3\s+3\s+example-\d\s+1\s+Available\s+\S+/);

  // The README's etcdctl block, run as written: the certificates from the example-app Secret, then put/get over TLS.
  const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const block = /Talk to it with any etcd v3 client[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)![1];
  assert.match(block, /--cacert=ca\.crt --cert=app\.crt --key=app\.key/);
  const walk = await run('bash', ['-euo', 'pipefail', '-c', block], { env, cwd: dir });
  assert.match(walk.stdout, /^OK\n[\s\S]*greeting\nhello\n/, walk.stdout + walk.stderr);
  assert.match(walk.stdout, /example-\d.*https:\/\/example-\d\.example-peer\.default\.svc\.cluster\.local:2380/, 'member list shows https peer URLs');

  assert.match(await kubectl('scale', 'rg/example', '--replicas=5'), /scaled/);
  await waitFor('example Available with 5 members', async () => (await phase()) === 'Available 5 5 2', 180_000, 500);

  // A deleted pod comes back on its volume: same member, same data.
  await kubectl('delete', 'pod', 'example-1');
  await waitFor('example-1 back', async () => (await phase()) === 'Available 5 5 2' && /example-1\s+1\/1\s+Running/.test(await kubectl('get', 'pods')), 180_000, 500);
  // A pod and its volume deleted (a lost disk): replaced by a new member.
  await kubectl('delete', 'pvc', 'data-example-2', '--wait=false');
  await kubectl('delete', 'pod', 'example-2');
  await waitFor('example-2 replaced', async () => {
    const members = (await kubectl('get', 'rg', 'example', '-o', 'jsonpath={.status.configuration.voters}')).trim();
    return (await phase()) === 'Available 5 5 2' && !members.includes('"example-2"') && members.includes('"example-5"');
  }, 180_000, 500);
  const events = await kubectl('describe', 'rg', 'example');
  assert.match(events, /MemberReplaced\s+.*replaced example-2 \(PodMissing\) with example-5/);

  // Ctrl-C stops everything: the operator and every pod process.
  const server = /server: (\S+)/.exec(fs.readFileSync(kubeconfig, 'utf8'))![1];
  const hooks = new LocalkubeHooks(server);
  const pids = (await Promise.all(['example-0', 'example-1', 'example-3', 'example-4', 'example-5'].map((p) => hooks.processes('default', p)))).flatMap((p) => Object.values(p));
  assert.equal(pids.length, 5);
  const operatorPid = Number(/started the operator \(pid (\d+)\)/.exec(out)![1]);
  process.kill(-child.pid!, 'SIGINT');
  assert.equal(await exited, 0, out.slice(-2000));
  await waitFor('every process stopped', () => [...pids, operatorPid].every((p) => !processAlive(p)), 30_000);
});
