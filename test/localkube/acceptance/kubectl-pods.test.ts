// Acceptance: pods as real local processes, driven by the real kubectl — a node
// HTTP server with a readiness probe becomes Running and Ready 1/1 with an IP,
// its logs are served, deleting it ends the process; a failing command goes
// into CrashLoopBackOff with growing restarts; Services and cluster DNS names
// work from inside pods and from the host; unmapped images and volumes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { kubectl, kubectlOk, processAlive, tempDir, waitFor, withLocalkube } from '../testing.ts';

const SERVER = `
const http = require('http');
const started = Date.now();
http.createServer((req, res) => {
  if (req.url === '/ready' && Date.now() - started < 300) { res.statusCode = 503; return res.end('warming up'); }
  res.end('hello from ' + process.env.POD_NAME + ' in ' + process.env.POD_NAMESPACE + '\\n');
}).listen(8080, process.env.POD_IP, () => console.log('serving on ' + process.env.POD_IP + ':8080 as ' + require('os').hostname()));
process.on('SIGTERM', () => { console.log('SIGTERM: bye'); process.exit(0); });
`;

const webPod = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: 'web' } },
  spec: {
    terminationGracePeriodSeconds: 5,
    containers: [
      {
        name: 'web',
        image: 'node:24',
        command: ['node', '-e', SERVER],
        env: [
          { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
          { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        ],
        ports: [{ name: 'http', containerPort: 8080 }],
        readinessProbe: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 1 },
      },
    ],
  },
});

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

test('pods run as local processes', async (t) => {
  const lk = await withLocalkube(t, { nodes: 2, crashLoopBackoff: { initialMs: 1000, maxMs: 4000 } });
  // Without mount namespaces (no root) only Node programs resolve cluster names and mounts are path rewrites.
  const skip = lk.kubelet!.sandbox.mode === 'namespaces' ? false : `needs mount namespaces (${lk.kubelet!.sandbox.why})`;

  await t.test('a node HTTP server with a readiness probe becomes Running and Ready 1/1', async () => {
    await kubectlOk(lk, ['apply', '-f', '-'], JSON.stringify(webPod('web-1')));
    const row = await waitFor('web-1 ready', async () => {
      const out = await kubectlOk(lk, ['get', 'pod', 'web-1', '-o', 'wide', '--no-headers']);
      return /^web-1\s+1\/1\s+Running\s+0\s+\S+\s+127\.\d+\.\d+\.\d+\s+node-\d/.test(out) ? out : undefined;
    });
    const ip = row.split(/\s+/)[5];
    assert.equal(await get(`http://${ip}:8080/`), 'hello from web-1 in default\n');
    const logs = await kubectlOk(lk, ['logs', 'web-1']);
    assert.equal(logs, `serving on ${ip}:8080 as web-1\n`);
    const events = await kubectlOk(lk, ['get', 'events', '--field-selector', 'involvedObject.name=web-1', '-o', 'jsonpath={.items[*].reason}']);
    for (const reason of ['Scheduled', 'Pulled', 'Created', 'Started']) assert.ok(events.split(' ').includes(reason), `event ${reason} in ${events}`);
  });

  await t.test('a Service reaches ready pods at its cluster IP, and names resolve inside pods', { skip }, async () => {
    await kubectlOk(lk, ['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } },
        { apiVersion: 'v1', kind: 'Service', metadata: { name: 'peers' }, spec: { clusterIP: 'None', publishNotReadyAddresses: true, selector: { app: 'db' }, ports: [{ name: 'peer', port: 2380 }] } },
      ],
    }));
    const info = await waitFor('web endpoints', async () => {
      const s = await lk.hooks.service('default', 'web');
      return s.endpoints.some((e) => e.ready) ? s : undefined;
    });
    assert.match(info.clusterIP!, /^127\./);
    assert.equal(await get(`http://${info.clusterIP}/`), 'hello from web-1 in default\n');
    assert.deepEqual(await lk.hooks.resolve('web.default.svc.cluster.local'), [info.clusterIP]);

    // A headless service with hostname/subdomain pods, as a replica group's peers use it.
    await kubectlOk(lk, ['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'db-0', labels: { app: 'db' } },
      spec: {
        hostname: 'db-0',
        subdomain: 'peers',
        restartPolicy: 'Never',
        containers: [{
          name: 'probe',
          image: 'busybox',
          command: ['sh', '-c', 'until getent hosts db-0.peers.default.svc.cluster.local >/dev/null; do sleep 0.1; done; hostname; getent hosts web; getent hosts web.default.svc.cluster.local; getent hosts db-0.peers.default.svc.cluster.local; getent hosts db-0.peers'],
        }],
      },
    }));
    await waitFor('db-0 completed', async () => (await kubectlOk(lk, ['get', 'pod', 'db-0', '-o', 'jsonpath={.status.phase}'])) === 'Succeeded');
    const lines = (await kubectlOk(lk, ['logs', 'db-0'])).trim().split('\n');
    assert.equal(lines[0], 'db-0');
    assert.match(lines[1], new RegExp(`^${info.clusterIP!.replace(/\./g, '\\.')}\\s+web`));
    assert.match(lines[2], new RegExp(`^${info.clusterIP!.replace(/\./g, '\\.')}\\s+web\\.default\\.svc\\.cluster\\.local`));
    assert.match(lines[3], /^127\.\d+\.\d+\.\d+\s+db-0\.peers\.default\.svc\.cluster\.local/);
    assert.match(lines[4], /^127\.\d+\.\d+\.\d+\s+/);
  });

  await t.test('changing a container image restarts it with the new image', async () => {
    const before = (await lk.hooks.processes('default', 'web-1')).web;
    await kubectlOk(lk, ['set', 'image', 'pod/web-1', 'web=node:25']);
    await waitFor('restarted with node:25 and ready', async () => {
      const cs = JSON.parse(await kubectlOk(lk, ['get', 'pod', 'web-1', '-o', 'jsonpath={.status.containerStatuses[0]}']));
      return cs.image === 'node:25' && cs.restartCount === 1 && cs.ready;
    });
    assert.equal(processAlive(before), false);
    assert.match(await kubectlOk(lk, ['describe', 'pod', 'web-1']), /Container web definition changed, will be restarted/);
  });

  await t.test('kubectl delete pod terminates the process', async () => {
    const pid = (await lk.hooks.processes('default', 'web-1')).web;
    assert.ok(processAlive(pid));
    const out = await kubectlOk(lk, ['delete', 'pod', 'web-1']);
    assert.match(out, /pod "web-1" deleted/);
    assert.equal(processAlive(pid), false, 'the server process is gone');
    assert.match((await kubectl(lk, ['get', 'pod', 'web-1'])).stderr, /NotFound/);
    const log = fs.readdirSync(path.join(lk.dataDir, 'pods')).find((d) => d.startsWith('default_web-1_'));
    assert.ok(log);
    assert.match(fs.readFileSync(path.join(lk.dataDir, 'pods', log, 'logs', 'web', '0.log'), 'utf8'), /SIGTERM: bye/);
  });

  await t.test('a command that exits 1 goes into CrashLoopBackOff with growing restarts', async () => {
    await kubectlOk(lk, ['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'crasher' },
      spec: { containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'echo attempt; exit 1'] }] },
    }));
    const seen: number[] = [];
    await waitFor('three restarts in CrashLoopBackOff', async () => {
      const out = await kubectlOk(lk, ['get', 'pod', 'crasher', '--no-headers']);
      const m = /^crasher\s+0\/1\s+(\S+)\s+(\d+)/.exec(out);
      if (m) seen.push(Number(m[2]));
      return m && m[1] === 'CrashLoopBackOff' && Number(m[2]) >= 3;
    }, 20000);
    assert.ok(seen.length > 1 && seen[seen.length - 1] > seen[0], `restarts grew: ${seen.join(',')}`);
    const pod = JSON.parse(await kubectlOk(lk, ['get', 'pod', 'crasher', '-o', 'json']));
    const cs = pod.status.containerStatuses[0];
    assert.equal(cs.lastState.terminated.exitCode, 1);
    assert.equal(cs.lastState.terminated.reason, 'Error');
    assert.equal(pod.status.phase, 'Running');
    assert.equal(await kubectlOk(lk, ['logs', 'crasher', '--previous']), 'attempt\n');
    const describe = await kubectlOk(lk, ['describe', 'pod', 'crasher']);
    assert.match(describe, /Warning\s+BackOff\s+.*Back-off restarting failed container c in pod crasher/);
    await kubectlOk(lk, ['delete', 'pod', 'crasher', '--grace-period=0', '--force']);
  });

  await t.test('an image without a local command shows ErrImagePull', async () => {
    await kubectlOk(lk, ['run', 'ghost', '--image=registry.example/ghost:1', '--restart=Never']);
    const reason = await waitFor('image pull failure', async () => {
      const r = await kubectlOk(lk, ['get', 'pod', 'ghost', '-o', 'jsonpath={.status.containerStatuses[0].state.waiting.reason}']);
      return r === 'ErrImagePull' || r === 'ImagePullBackOff' ? r : undefined;
    });
    assert.ok(reason);
    const message = await kubectlOk(lk, ['get', 'pod', 'ghost', '-o', 'jsonpath={.status.containerStatuses[0].state.waiting.message}']);
    assert.match(message, /no local command for image "registry.example\/ghost:1"/);
    await kubectlOk(lk, ['delete', 'pod', 'ghost']);
  });

  await t.test('a claim outlives its pod; an emptyDir does not', { skip }, async () => {
    // Mount points that do not exist are created (empty) on the host: keep them in a temp dir.
    const mnt = tempDir(t);
    await kubectlOk(lk, ['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } },
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'writer' },
          spec: {
            restartPolicy: 'Never',
            volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }, { name: 'scratch', emptyDir: {} }],
            containers: [{
              name: 'w',
              image: 'busybox',
              command: ['sh', '-c', `echo kept > ${mnt}/data/file && echo gone > ${mnt}/scratch/file && pwd`],
              workingDir: `${mnt}/data`,
              volumeMounts: [{ name: 'data', mountPath: `${mnt}/data` }, { name: 'scratch', mountPath: `${mnt}/scratch` }],
            }],
          },
        },
      ],
    }));
    await waitFor('writer completed', async () => (await kubectlOk(lk, ['get', 'pod', 'writer', '-o', 'jsonpath={.status.phase}'])) === 'Succeeded');
    assert.equal(await kubectlOk(lk, ['get', 'pvc', 'data', '-o', 'jsonpath={.status.phase}']), 'Bound');
    const dir = await lk.hooks.pvcPath('default', 'data');
    assert.equal(fs.readFileSync(path.join(dir, 'file'), 'utf8'), 'kept\n');
    const podDir = fs.readdirSync(path.join(lk.dataDir, 'pods')).find((d) => d.startsWith('default_writer_'))!;
    assert.equal(fs.readFileSync(path.join(lk.dataDir, 'pods', podDir, 'volumes', 'scratch', 'file'), 'utf8'), 'gone\n');
    assert.equal(await kubectlOk(lk, ['logs', 'writer']), `${mnt}/data\n`);
    assert.equal(fs.existsSync(path.join(mnt, 'data', 'file')), false, 'the bind mount lives in the pod only; the host path stays empty');
    await kubectlOk(lk, ['delete', 'pod', 'writer']);
    assert.equal(fs.existsSync(path.join(lk.dataDir, 'pods', podDir, 'volumes')), false, 'emptyDir removed with the pod');
    assert.equal(fs.readFileSync(path.join(dir, 'file'), 'utf8'), 'kept\n', 'claim data kept');
    await lk.hooks.wipePvc('default', 'data');
    assert.deepEqual(fs.readdirSync(dir), []);
    await kubectlOk(lk, ['delete', 'pvc', 'data']);
    await waitFor('volume directory removed', () => !fs.existsSync(dir));
  });
});
