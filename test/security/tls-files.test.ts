// TlsFiles: unusable files are refused at start with the flag to fix; a
// change on disk is picked up (watch or periodic check) only once the set is
// complete and consistent; the served certificate of a live gRPC server
// follows the files for new connections while an established one stays up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import pino from 'pino';
import { createCertificateAuthority, issueCertificate } from '../../operator/pki/index.ts';
import { TlsConfigError, TlsFiles } from '../../replica/server/tls/index.ts';
import { GrpcServer } from '../../replica/grpc/index.ts';
import { writeAtomic, writeTlsSet } from '../e2e/cluster-tls.ts';
import { waitFor } from '../e2e/replica-cluster.ts';

const flags = { cert: '--cert-file', key: '--key-file', ca: '--trusted-ca-file' };
const log = pino({ level: 'silent' });

function dir(t: { after(fn: () => void): void }): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-tlsfiles-'));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

test('unusable TLS files are refused with the flag and the reason', (t) => {
  const d = dir(t);
  const ca = createCertificateAuthority({ commonName: 'ca' });
  const a = issueCertificate(ca, { profile: 'server', commonName: 'a', ipAddresses: ['127.0.0.1'] });
  const b = issueCertificate(ca, { profile: 'server', commonName: 'b' });
  const expired = issueCertificate(createCertificateAuthority({ commonName: 'old', now: new Date(Date.now() - 400 * 86400_000) }), {
    profile: 'server',
    commonName: 'old',
    validityDays: 30,
    now: new Date(Date.now() - 400 * 86400_000),
  });
  const f = (n: string, s: string) => {
    const p = path.join(d, n);
    fs.writeFileSync(p, s);
    return p;
  };
  const load = (certFile: string, keyFile: string, trustedCaFile?: string) => new TlsFiles({ certFile, keyFile, trustedCaFile }, { flags, log, reloadIntervalMs: 1000 });
  const bad = (fn: () => unknown, re: RegExp) => assert.throws(fn, (e: Error) => e instanceof TlsConfigError && re.test(e.message), String(re));
  bad(() => load(path.join(d, 'missing.pem'), f('k', a.privateKeyPem)), /--cert-file .*missing\.pem: cannot be read \(ENOENT\)/);
  bad(() => load(f('c', a.certificatePem), f('k2', b.privateKeyPem)), /--key-file .* does not belong to the certificate in --cert-file/);
  bad(() => load(f('c3', 'hello'), f('k3', a.privateKeyPem)), /--cert-file .*: not a PEM certificate/);
  bad(() => load(f('c4', a.certificatePem), f('k4', 'nope')), /--key-file .*: not a PEM private key/);
  bad(() => load(f('c5', expired.certificatePem), f('k5', expired.privateKeyPem)), /expired at/);
  bad(() => load(f('c6', a.certificatePem), f('k6', a.privateKeyPem), f('ca6', 'no certs here')), /--trusted-ca-file .*: holds no PEM certificate/);
  const ok = load(f('c7', a.certificatePem), f('k7', a.privateKeyPem), f('ca7', ca.certificatePem));
  assert.equal(ok.material.generation, 1);
  assert.equal(ok.material.leaf.subject, 'CN=a');
});

test('a reload swaps in a complete new set only, keeps the old one meanwhile, and serves it to new connections', async (t) => {
  const d = dir(t);
  const ca = createCertificateAuthority({ commonName: 'ca' });
  const first = issueCertificate(ca, { profile: 'server', commonName: 'first', ipAddresses: ['127.0.0.1'] });
  const second = issueCertificate(ca, { profile: 'server', commonName: 'second', ipAddresses: ['127.0.0.1'] });
  const { certFile, keyFile, caFile } = writeTlsSet(d, first, ca);
  const files = new TlsFiles({ certFile, keyFile, trustedCaFile: caFile }, { flags, log, reloadIntervalMs: 200 });
  const seen: string[] = [];
  files.onChange((m) => seen.push(m.leaf.subject));
  files.start();
  t.after(() => files.stop());

  // A gRPC server on these files, and a probe that reports the certificate a new connection is served.
  const server = new GrpcServer({ maxReceiveBytes: 1024 });
  const port = await server.listen({ host: '127.0.0.1', port: 0, tls: { files, clientCertMode: 'request' } });
  t.after(() => server.forceShutdown());
  const served = () =>
    new Promise<{ cn: string; socket: tls.TLSSocket }>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, ca: ca.certificatePem, ALPNProtocols: ['h2'], checkServerIdentity: () => undefined }, () =>
        resolve({ cn: String(s.getPeerCertificate().subject.CN), socket: s }),
      );
      s.on('error', reject);
    });
  const early = await served();
  t.after(() => early.socket.destroy());
  assert.equal(early.cn, 'first');

  // Certificate replaced, key not yet: a mismatched set is not taken.
  writeAtomic(certFile, second.certificatePem);
  assert.equal(files.reload(), false);
  assert.equal(files.material.leaf.subject, 'CN=first');
  const during = await served();
  during.socket.destroy();
  assert.equal(during.cn, 'first', 'still the old pair while the key lags behind');

  // The key follows: the watch (or the periodic check) swaps the set in.
  writeAtomic(keyFile, second.privateKeyPem);
  await waitFor('the new certificate to be loaded', () => files.material.leaf.subject === 'CN=second', 10_000);
  assert.equal(files.material.generation, 2);
  assert.deepEqual(seen, ['CN=second']);
  const later = await served();
  later.socket.destroy();
  assert.equal(later.cn, 'second');
  assert.ok(!early.socket.destroyed && early.socket.writable, 'the connection made before the reload is still up');
  assert.equal(files.reload(), false, 'unchanged files are not reloaded again');
  assert.equal(files.material.generation, 2);
});
