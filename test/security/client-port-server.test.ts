// The client port's unary gRPC server over TLS: the three client-certificate
// modes (none / request / require) as a grpc-js client sees them, a handler
// sees a client certificate only when the handshake verified it, ALPN other
// than h2 is refused, and a reload of the TLS files reaches new connections
// while an established one keeps working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { createCertificateAuthority, issueCertificate, type CertificateBundle } from '../../operator/pki/index.ts';
import { TlsFiles, type ClientCertMode } from '../../replica/server/tls/index.ts';
import { GrpcServer } from '../../replica/grpc/index.ts';
import { writeAtomic, writeTlsSet } from '../e2e/cluster-tls.ts';
import { waitFor } from '../e2e/replica-cluster.ts';

const log = pino({ level: 'silent' });
const flags = { cert: '--cert-file', key: '--key-file', ca: '--trusted-ca-file' };

const definition: grpc.ServiceDefinition = {
  Who: {
    path: '/test.Tls/Who',
    requestStream: false,
    responseStream: false,
    requestSerialize: (s: string) => Buffer.from(s),
    requestDeserialize: (b: Buffer) => b.toString(),
    responseSerialize: (s: string) => Buffer.from(s),
    responseDeserialize: (b: Buffer) => b.toString(),
  },
};

interface Pki {
  dir: string;
  ca: CertificateBundle;
  server: CertificateBundle;
  client: CertificateBundle;
  stranger: CertificateBundle;
  files: TlsFiles;
  certFile: string;
  keyFile: string;
}

function pki(t: { after(fn: () => void): void }): Pki {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-unary-tls-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const ca = createCertificateAuthority({ commonName: 'group-ca' });
  const other = createCertificateAuthority({ commonName: 'other-ca' });
  const server = issueCertificate(ca, { profile: 'server', commonName: 'first', ipAddresses: ['127.0.0.1'] });
  const client = issueCertificate(ca, { profile: 'client', commonName: 'app' });
  const stranger = issueCertificate(other, { profile: 'client', commonName: 'stranger' });
  const { certFile, keyFile, caFile } = writeTlsSet(dir, server, ca);
  const files = new TlsFiles({ certFile, keyFile, trustedCaFile: caFile }, { flags, log, reloadIntervalMs: 200 });
  files.start();
  t.after(() => files.stop());
  return { dir, ca, server, client, stranger, files, certFile, keyFile };
}

async function serve(t: { after(fn: () => void): void }, p: Pki, mode: ClientCertMode): Promise<number> {
  const server = new GrpcServer({ maxReceiveBytes: 1024 });
  server.addService(definition, {
    Who: (call: grpc.ServerUnaryCall<string, string>, cb: grpc.sendUnaryData<string>) => {
      const cert = call.getAuthContext().sslPeerCertificate;
      cb(null, cert ? String(cert.subject.CN) : '-');
    },
  });
  const port = await server.listen({ host: '127.0.0.1', port: 0, tls: { files: p.files, clientCertMode: mode } });
  t.after(() => server.forceShutdown());
  return port;
}

/** who calls Who as `as` (a client certificate, or none); resolves the CN the server saw, or the error code. */
function who(t: { after(fn: () => void): void }, p: Pki, port: number, as?: CertificateBundle): Promise<string> {
  const Client = grpc.makeGenericClientConstructor(definition, 'Tls');
  const creds = grpc.credentials.createSsl(Buffer.from(p.ca.certificatePem), as ? Buffer.from(as.privateKeyPem) : null, as ? Buffer.from(as.certificatePem) : null);
  const c = new Client(`127.0.0.1:${port}`, creds) as unknown as grpc.Client & Record<string, Function>;
  t.after(() => c.close());
  return new Promise((resolve) =>
    c.Who('?', { deadline: Date.now() + 5000 }, (err: grpc.ServiceError | null, res: string) => resolve(err ? `error ${grpc.status[err.code]}` : res)),
  );
}

test('client certificate modes: none never asks, request verifies when sent, require refuses without a valid one', async (t) => {
  const p = pki(t);
  const none = await serve(t, p, 'none');
  assert.equal(await who(t, p, none), '-');
  assert.equal(await who(t, p, none, p.client), '-', 'not asked for, so not seen');

  const request = await serve(t, p, 'request');
  assert.equal(await who(t, p, request), '-');
  assert.equal(await who(t, p, request, p.client), 'app');
  assert.equal(await who(t, p, request, p.stranger), '-', 'an unverified certificate is never shown to the handler');

  const require = await serve(t, p, 'require');
  assert.equal(await who(t, p, require, p.client), 'app');
  assert.equal(await who(t, p, require), 'error UNAVAILABLE');
  assert.equal(await who(t, p, require, p.stranger), 'error UNAVAILABLE');
});

test('TLS listener: ALPN other than h2 is refused; reloaded files reach new connections, the old one keeps working', async (t) => {
  const p = pki(t);
  const port = await serve(t, p, 'request');
  const served = (alpn: string[]) =>
    new Promise<{ cn: string; alpn: string | false; socket: tls.TLSSocket }>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, ca: p.ca.certificatePem, ALPNProtocols: alpn, checkServerIdentity: () => undefined }, () =>
        resolve({ cn: String(s.getPeerCertificate().subject.CN), alpn: s.alpnProtocol ?? false, socket: s }),
      );
      s.on('error', reject);
    });
  await assert.rejects(served(['http/1.1']), /ALPN|no application protocol|socket hang up|ECONNRESET/i);
  const early = await served(['h2']);
  t.after(() => early.socket.destroy());
  assert.equal(early.cn, 'first');
  assert.equal(early.alpn, 'h2');
  const Client = grpc.makeGenericClientConstructor(definition, 'Tls');
  const kept = new Client(`127.0.0.1:${port}`, grpc.credentials.createSsl(Buffer.from(p.ca.certificatePem), Buffer.from(p.client.privateKeyPem), Buffer.from(p.client.certificatePem))) as unknown as grpc.Client & Record<string, Function>;
  t.after(() => kept.close());
  const call = () => new Promise<string>((resolve, reject) => kept.Who('?', { deadline: Date.now() + 5000 }, (e: Error | null, r: string) => (e ? reject(e) : resolve(r))));
  assert.equal(await call(), 'app');

  const second = issueCertificate(p.ca, { profile: 'server', commonName: 'second', ipAddresses: ['127.0.0.1'] });
  writeAtomic(p.certFile, second.certificatePem);
  writeAtomic(p.keyFile, second.privateKeyPem);
  await waitFor('the new certificate to be loaded', () => p.files.material.leaf.subject === 'CN=second', 10_000);
  const later = await served(['h2']);
  later.socket.destroy();
  assert.equal(later.cn, 'second');
  assert.equal(await call(), 'app', 'the connection made before the reload still serves');
});
