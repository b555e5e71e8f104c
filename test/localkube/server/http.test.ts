// HTTP-level behaviour not covered through kubectl: discovery forms, OpenAPI,
// content negotiation, watch edge cases (selectors, bookmarks, timeouts, 410),
// and Status errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { withLocalkube } from '../testing.ts';

interface Reply {
  status: number;
  type: string;
  body: string;
  json(): Record<string, unknown> & { [k: string]: any };
}

function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = http.request(`${base}${path}`, { method, headers: { 'Content-Type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body: text, json: () => JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** watchLines reads a watch stream until `until` says stop or the server ends it. */
function watchLines(base: string, path: string, until: (events: { type: string; object: any }[]) => boolean, onOpen?: () => void): Promise<{ type: string; object: any }[]> {
  return new Promise((resolve, reject) => {
    const events: { type: string; object: any }[] = [];
    const req = http.get(`${base}${path}`, (res) => {
      let carry = '';
      onOpen?.();
      res.on('data', (d) => {
        const lines = (carry + d).split('\n');
        carry = lines.pop() ?? '';
        for (const l of lines) if (l) events.push(JSON.parse(l));
        if (until(events)) {
          req.destroy();
          resolve(events);
        }
      });
      res.on('end', () => resolve(events));
    });
    req.on('error', (err) => (events.length && until(events) ? resolve(events) : reject(err)));
  });
}

test('HTTP surface', async (t) => {
  const lk = await withLocalkube(t, { nodes: 0, bookmarkIntervalMs: 100 });
  const base = lk.url;

  await t.test('discovery: aggregated with the exact content type, legacy otherwise', async () => {
    const agg = await call(base, 'GET', '/apis', undefined, { Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' });
    assert.equal(agg.type, 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
    const policy = agg.json().items.find((g: { metadata: { name: string } }) => g.metadata.name === 'policy');
    assert.equal(policy.versions[0].resources[0].resource, 'poddisruptionbudgets');
    const core = (await call(base, 'GET', '/api', undefined, { Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' })).json();
    const pods = core.items[0].versions[0].resources.find((r: { resource: string }) => r.resource === 'pods');
    assert.deepEqual(pods.subresources.map((s: { subresource: string }) => s.subresource).sort(), ['binding', 'eviction', 'log', 'status']);
    assert.equal(core.items[0].metadata.name, '');
    assert.equal((await call(base, 'GET', '/api')).json().kind, 'APIVersions');
    assert.equal((await call(base, 'GET', '/apis')).json().kind, 'APIGroupList');
    const v1 = (await call(base, 'GET', '/api/v1')).json();
    assert.ok(v1.resources.some((r: { name: string }) => r.name === 'pods/status'));
    assert.equal((await call(base, 'GET', '/version')).json().minor, '32');
    const index = (await call(base, 'GET', '/openapi/v3')).json();
    const doc = (await call(base, 'GET', index.paths['apis/coordination.k8s.io/v1'].serverRelativeURL)).json();
    const patch = Object.values(doc.paths as Record<string, { patch?: { parameters: { name: string }[] } }>).find((p) => p.patch)!.patch!;
    assert.ok(patch.parameters.some((p) => p.name === 'fieldValidation'));
  });

  await t.test('Status errors', async () => {
    const missing = await call(base, 'GET', '/api/v1/namespaces/default/configmaps/nope');
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.json(), { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'configmaps "nope" not found', reason: 'NotFound', details: { name: 'nope', group: '', kind: 'configmaps' }, code: 404 });
    assert.equal((await call(base, 'GET', '/api/v1/nothings')).status, 404);
    assert.equal((await call(base, 'POST', '/api/v1/namespaces/default/configmaps', '{not json')).status, 400);
    assert.equal((await call(base, 'PUT', '/api/v1/namespaces/default/configmaps')).status, 405);
    assert.equal((await call(base, 'PATCH', '/api/v1/namespaces/default/configmaps/x', '{}', { 'Content-Type': 'text/plain' })).status, 415);
    assert.equal((await call(base, 'GET', '/api/v1/pods?fieldSelector=spec.color%3Dred')).status, 400);
    assert.equal((await call(base, 'GET', '/api/v1/pods?labelSelector=a%20b')).status, 400);
  });

  await t.test('metadata-only and Table answers', async () => {
    await call(base, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'm', labels: { a: '1' } }, data: { k: 'v' } });
    const meta = (await call(base, 'GET', '/api/v1/namespaces/default/configmaps/m', undefined, { Accept: 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1' })).json();
    assert.deepEqual([meta.kind, meta.metadata.name, meta.data], ['PartialObjectMetadata', 'm', undefined]);
    const table = (await call(base, 'GET', '/api/v1/namespaces/default/configmaps', undefined, { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' })).json();
    assert.equal(table.kind, 'Table');
    assert.deepEqual(table.columnDefinitions.map((c: { name: string }) => c.name), ['Name', 'Data', 'Age']);
    assert.deepEqual(table.rows.find((r: { cells: unknown[] }) => r.cells[0] === 'm').cells.slice(0, 2), ['m', 1]);
  });

  await t.test('watch: selectors turn leaving objects into DELETED; bookmarks; timeoutSeconds', async () => {
    const rv = (await call(base, 'GET', '/api/v1/namespaces/default/configmaps')).json().metadata.resourceVersion;
    const done = watchLines(base, `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}&labelSelector=a%3D1&allowWatchBookmarks=true`, (ev) => ev.filter((e) => e.type !== 'BOOKMARK').length >= 3 && ev.some((e) => e.type === 'BOOKMARK'));
    await call(base, 'PATCH', '/api/v1/namespaces/default/configmaps/m', { metadata: { labels: { a: '2' } } }, { 'Content-Type': 'application/merge-patch+json' });
    await call(base, 'PATCH', '/api/v1/namespaces/default/configmaps/m', { metadata: { labels: { a: '1' } } }, { 'Content-Type': 'application/merge-patch+json' });
    await call(base, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'other', labels: { a: '3' } } });
    await call(base, 'DELETE', '/api/v1/namespaces/default/configmaps/m');
    const events = (await done).filter((e) => e.type !== 'BOOKMARK');
    assert.deepEqual(events.map((e) => `${e.type} ${e.object.metadata.name}`), ['DELETED m', 'ADDED m', 'DELETED m']);
    const ended = await watchLines(base, '/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1', () => false);
    // Every namespace also holds kube-root-ca.crt (the CA for in-cluster clients).
    assert.deepEqual(ended.map((e) => `${e.type} ${e.object.metadata.name}`).sort(), ['ADDED kube-root-ca.crt', 'ADDED other'], 'the current objects, then the stream ends at the timeout');
  });

  await t.test('watch from a compacted resourceVersion: one 410 ERROR event', async () => {
    const rv = (await call(base, 'GET', '/api/v1/namespaces/default/configmaps')).json().metadata.resourceVersion;
    await call(base, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'later' } });
    await lk.hooks.compact();
    const events = await watchLines(base, `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}`, () => false);
    assert.equal(events.length, 1);
    assert.equal(events[0].type, 'ERROR');
    assert.equal(events[0].object.code, 410);
    assert.match(events[0].object.message, /too old resource version/);
  });

  await t.test('pod logs need a kubelet (503 with nodes: 0)', async () => {
    await call(base, 'POST', '/api/v1/namespaces/default/pods', { metadata: { name: 'idle' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
    const r = await call(base, 'GET', '/api/v1/namespaces/default/pods/idle/log');
    assert.equal(r.status, 503);
    assert.match(r.json().message, /no kubelet is running/);
  });
});
