// Protobuf request bodies: a Secret exactly as helm 4 (client-go 1.35) sent it,
// bodies built here byte by byte (independently of the decoder's schema), and
// the HTTP round trip: a protobuf POST, PUT and DELETE answered in JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import zlib from 'node:zlib';
import { decodeProtobufBody, isProtobufBody } from './protobuf-body.ts';
import { withLocalkube } from '../testing.ts';

// --- a minimal protobuf writer (wire types 0 and 2 only) ----------------------
function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}
const bytesField = (no: number, v: Buffer | string) => {
  const b = typeof v === 'string' ? Buffer.from(v) : v;
  return Buffer.concat([varint((no << 3) | 2), varint(b.length), b]);
};
const intField = (no: number, n: number) => Buffer.concat([varint(no << 3), varint(n)]);
const mapEntry = (no: number, k: string, v: Buffer | string) => bytesField(no, Buffer.concat([bytesField(1, k), bytesField(2, v)]));
const envelope = (apiVersion: string, kind: string, raw: Buffer) =>
  Buffer.concat([Buffer.from('k8s\0', 'latin1'), bytesField(1, Buffer.concat([bytesField(1, apiVersion), bytesField(2, kind)])), bytesField(2, raw)]);

function secretBody(name: string, data: Record<string, Buffer>, extraMeta: Buffer = Buffer.alloc(0)): Buffer {
  const meta = Buffer.concat([
    bytesField(1, name),
    bytesField(2, ''), // Go writes empty strings: they must not become fields
    mapEntry(11, 'owner', 'helm'),
    mapEntry(12, 'note', 'a b'),
    extraMeta,
  ]);
  return envelope('v1', 'Secret', Buffer.concat([bytesField(1, meta), ...Object.entries(data).map(([k, v]) => mapEntry(2, k, v)), bytesField(3, 'Opaque')]));
}

test('decodes the release Secret helm 4 sent', () => {
  const body = Buffer.from(fs.readFileSync(new URL('./testdata/helm-release-secret.pb.b64', import.meta.url), 'utf8').trim(), 'base64');
  assert.ok(isProtobufBody('application/vnd.kubernetes.protobuf', body));
  const s = decodeProtobufBody(body);
  assert.equal(s.apiVersion, 'v1');
  assert.equal(s.kind, 'Secret');
  assert.equal(s.type, 'helm.sh/release.v1');
  assert.deepEqual(s.metadata, {
    name: 'sh.helm.release.v1.r1.v1',
    labels: { createdAt: s.metadata.labels.createdAt, name: 'r1', owner: 'helm', status: 'pending-install', version: '1' },
  });
  // data values are base64 in JSON; helm's release is base64(gzip(json)) inside.
  const release = JSON.parse(zlib.gunzipSync(Buffer.from(Buffer.from(s.data.release, 'base64').toString('utf8'), 'base64')).toString('utf8'));
  assert.equal(release.name, 'r1');
  assert.equal(release.version, 1);
});

test('decodes hand-built Secret, ConfigMap and DeleteOptions bodies', () => {
  const when = Date.parse('2025-03-04T05:06:07Z') / 1000;
  const time = Buffer.concat([intField(1, when)]);
  const s = decodeProtobufBody(secretBody('s1', { k: Buffer.from([0, 1, 2, 255]) }, Buffer.concat([bytesField(14, 'example.com/keep'), intField(7, 3), bytesField(8, time), bytesField(8, Buffer.alloc(0))])));
  assert.deepEqual(s, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 's1', labels: { owner: 'helm' }, annotations: { note: 'a b' }, finalizers: ['example.com/keep'], generation: 3, creationTimestamp: '2025-03-04T05:06:07Z' },
    data: { k: Buffer.from([0, 1, 2, 255]).toString('base64') },
    type: 'Opaque',
  });
  const cm = decodeProtobufBody(envelope('v1', 'ConfigMap', Buffer.concat([bytesField(1, bytesField(1, 'c')), mapEntry(2, 'a', 'x'), mapEntry(3, 'b', Buffer.from('y'))])));
  assert.deepEqual(cm, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'x' }, binaryData: { b: Buffer.from('y').toString('base64') } });
  const sa = decodeProtobufBody(envelope('v1', 'ServiceAccount', Buffer.concat([bytesField(1, bytesField(1, 'reader')), bytesField(3, bytesField(1, 'regcred')), intField(4, 0)])));
  assert.deepEqual(sa, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reader' }, imagePullSecrets: [{ name: 'regcred' }], automountServiceAccountToken: false });
  const ns = decodeProtobufBody(envelope('v1', 'Namespace', Buffer.concat([bytesField(1, bytesField(1, 'apps')), bytesField(2, bytesField(1, 'kubernetes'))])));
  assert.deepEqual(ns, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' }, spec: { finalizers: ['kubernetes'] } });
  const del = decodeProtobufBody(
    envelope('meta.k8s.io/v1', 'DeleteOptions', Buffer.concat([intField(1, 0), bytesField(2, bytesField(1, 'uid-1')), bytesField(4, 'Foreground'), bytesField(5, 'All')])),
  );
  assert.deepEqual(del, { apiVersion: 'meta.k8s.io/v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid: 'uid-1' }, propagationPolicy: 'Foreground', dryRun: ['All'] });
});

test('rejects what it cannot decode with a clear error', () => {
  assert.throws(() => decodeProtobufBody(Buffer.from('{"kind":"Secret"}')), /magic prefix/);
  assert.throws(() => decodeProtobufBody(envelope('apps/v1', 'Deployment', Buffer.alloc(0))), (e: { code: number; message: string }) => {
    assert.equal(e.code, 415);
    assert.match(e.message, /only for v1\/Secret, .*got apps\/v1\/Deployment: send it as application\/json/);
    return true;
  });
  assert.throws(() => decodeProtobufBody(Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.from([0x0a, 0x50])])), /cannot decode the protobuf envelope/);
});

function send(base: string, method: string, path: string, body?: Buffer): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, {
        method,
        headers: { 'Content-Type': 'application/vnd.kubernetes.protobuf', Accept: 'application/vnd.kubernetes.protobuf,application/json', 'Content-Length': String(body?.length ?? 0) },
      }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('protobuf POST, PUT and DELETE over HTTP are answered in JSON', async (t) => {
  const lk = await withLocalkube(t, { nodes: 0 });
  const created = await send(lk.url, 'POST', '/api/v1/namespaces/default/secrets', secretBody('rel', { release: Buffer.from('v1') }));
  assert.equal(created.status, 201, JSON.stringify(created.json));
  assert.equal(Buffer.from(created.json.data.release, 'base64').toString(), 'v1');
  assert.ok(created.json.metadata.uid);
  const rv = created.json.metadata.resourceVersion as string;
  const updated = await send(lk.url, 'PUT', '/api/v1/namespaces/default/secrets/rel', secretBody('rel', { release: Buffer.from('v2') }, bytesField(6, rv)));
  assert.equal(updated.status, 200, JSON.stringify(updated.json));
  assert.equal(Buffer.from(updated.json.data.release, 'base64').toString(), 'v2');
  const stale = await send(lk.url, 'PUT', '/api/v1/namespaces/default/secrets/rel', secretBody('rel', { release: Buffer.from('v3') }, bytesField(6, rv)));
  assert.equal(stale.status, 409);
  const deleted = await send(lk.url, 'DELETE', '/api/v1/namespaces/default/secrets/rel', envelope('v1', 'DeleteOptions', Buffer.alloc(0)));
  assert.equal(deleted.status, 200, JSON.stringify(deleted.json));
  const gone = await send(lk.url, 'DELETE', '/api/v1/namespaces/default/secrets/rel', envelope('v1', 'DeleteOptions', Buffer.alloc(0)));
  assert.equal(gone.status, 404);
});
