// Tests of operator/pki: certificates checked by node:crypto's X509Certificate,
// by OpenSSL (`openssl verify` / `openssl x509`) and by a real mutual-TLS
// handshake; parsing of foreign (OpenSSL-made) certificates; rotation
// decisions; bad requests; and a mutation fuzz of the parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import fc from 'fast-check';
import {
  CertificateError,
  createCertificateAuthority,
  decodePem,
  encodePem,
  issueCertificate,
  namesMatch,
  parseCertificate,
  parseCertificates,
  renewalTime,
  rotationReason,
  verifyIssuedBy,
} from './index.ts';

const DAY = 24 * 3600 * 1000;
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

function tmpdir(t: { after(fn: () => void): void }): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-pki-'));
  t.after(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

test('a CA is self-signed, marked CA, may sign certificates, and has the requested lifetime', () => {
  const now = new Date('2030-01-01T00:00:00Z');
  const ca = createCertificateAuthority({ commonName: 'group-a CA', organization: 'replicant', validityDays: 365, now });
  const x = new X509Certificate(ca.certificatePem);
  assert.equal(x.ca, true);
  assert.ok(x.verify(x.publicKey), 'self-signature verifies');
  assert.ok(x.checkIssued(x));
  assert.ok(x.checkPrivateKey(createPrivateKey(ca.privateKeyPem)));
  assert.equal(ca.info.isCA, true);
  assert.equal(ca.info.pathLength, 0);
  assert.deepEqual(ca.info.keyUsage.sort(), ['cRLSign', 'digitalSignature', 'keyCertSign']);
  assert.equal(ca.info.subject.commonName, 'group-a CA');
  assert.equal(ca.info.subject.organization, 'replicant');
  assert.equal(ca.info.notAfter.toISOString(), '2031-01-01T00:00:00.000Z');
  assert.equal(ca.info.notBefore.toISOString(), '2029-12-31T23:55:00.000Z');
  assert.equal(new Date(x.validTo).getTime(), ca.info.notAfter.getTime());
  assert.match(ca.privateKeyPem, /^-----BEGIN PRIVATE KEY-----/);
});

test('server, client and peer certificates carry their SANs and usages and verify against the CA key', () => {
  const ca = createCertificateAuthority({ commonName: 'ca' });
  const caX = new X509Certificate(ca.certificatePem);
  const other = createCertificateAuthority({ commonName: 'ca' });
  const server = issueCertificate(ca, {
    profile: 'server',
    commonName: 'm1',
    dnsNames: ['M1.g-peer.ns.svc.cluster.local', 'g-client.ns.svc'],
    ipAddresses: ['127.0.0.1', '::1', '2001:db8:0:0:0:0:0:1'],
    uris: ['replicant://g/member/m1'],
  });
  const x = new X509Certificate(server.certificatePem);
  assert.ok(x.verify(caX.publicKey), 'signature verifies with the CA public key');
  assert.ok(!x.verify(new X509Certificate(other.certificatePem).publicKey), 'and not with another CA key of the same name');
  assert.ok(x.checkIssued(caX));
  assert.ok(verifyIssuedBy(server.certificatePem, ca.certificatePem));
  assert.ok(!verifyIssuedBy(server.certificatePem, other.certificatePem));
  assert.equal(x.ca, false);
  assert.equal(x.checkHost('m1.g-peer.ns.svc.cluster.local'), 'm1.g-peer.ns.svc.cluster.local');
  assert.equal(x.checkHost('g-client.ns.svc'), 'g-client.ns.svc');
  assert.equal(x.checkHost('m2.g-peer.ns.svc.cluster.local'), undefined);
  assert.equal(x.checkIP('127.0.0.1'), '127.0.0.1');
  assert.equal(x.checkIP('::1'), '::1');
  assert.equal(x.checkIP('127.0.0.2'), undefined);
  assert.match(x.subjectAltName!, /URI:replicant:\/\/g\/member\/m1/);
  assert.deepEqual(x.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  assert.deepEqual(server.info.dnsNames, ['m1.g-peer.ns.svc.cluster.local', 'g-client.ns.svc']);
  assert.deepEqual(server.info.ipAddresses, ['127.0.0.1', '::1', '2001:db8::1']);
  assert.deepEqual(server.info.uris, ['replicant://g/member/m1']);
  assert.deepEqual(server.info.keyUsage, ['digitalSignature']);
  assert.deepEqual(server.info.extendedKeyUsage, ['serverAuth']);
  assert.equal(server.info.authorityKeyId, ca.info.subjectKeyId);
  assert.equal(server.info.issuer.commonName, 'ca');

  const client = issueCertificate(ca, { profile: 'client', commonName: 'replicant-operator' });
  assert.deepEqual(new X509Certificate(client.certificatePem).keyUsage, ['1.3.6.1.5.5.7.3.2']);
  assert.equal(client.info.subject.commonName, 'replicant-operator');
  assert.deepEqual(client.info.dnsNames, []);
  const peer = issueCertificate(ca, { profile: 'peer', commonName: 'm1', ipAddresses: ['127.0.0.9'] });
  assert.deepEqual(peer.info.extendedKeyUsage, ['serverAuth', 'clientAuth']);
  assert.notEqual(peer.info.serialNumber, server.info.serialNumber, 'serial numbers are random');
});

test('a certificate never outlives its CA', () => {
  const now = new Date('2031-05-01T00:00:00Z');
  const ca = createCertificateAuthority({ commonName: 'short ca', validityDays: 10, now });
  const leaf = issueCertificate(ca, { profile: 'server', commonName: 'x', dnsNames: ['x'], validityDays: 90, now });
  assert.equal(leaf.info.notAfter.getTime(), ca.info.notAfter.getTime());
  assert.throws(
    () => issueCertificate(ca, { profile: 'server', commonName: 'x', now: new Date(now.getTime() + 11 * DAY) }),
    (e: Error) => e instanceof CertificateError && /expired .*rotate the CA/.test(e.message),
  );
});

test('issuing refuses a non-CA issuer, a mismatched key and invalid names, with the reason', () => {
  const ca = createCertificateAuthority({ commonName: 'ca' });
  const other = createCertificateAuthority({ commonName: 'other' });
  const leaf = issueCertificate(ca, { profile: 'client', commonName: 'c' });
  const bad = (f: () => unknown, re: RegExp) => assert.throws(f, (e: Error) => e instanceof CertificateError && re.test(e.message), String(re));
  bad(() => issueCertificate(leaf, { profile: 'client', commonName: 'x' }), /not a CA/);
  bad(() => issueCertificate({ certificatePem: ca.certificatePem, privateKeyPem: other.privateKeyPem }, { profile: 'client', commonName: 'x' }), /does not belong/);
  bad(() => issueCertificate({ certificatePem: ca.certificatePem, privateKeyPem: 'nope' }, { profile: 'client', commonName: 'x' }), /cannot be read/);
  bad(() => issueCertificate(ca, { profile: 'server', commonName: 'x', dnsNames: ['bad_name.example'] }), /not a valid host name label/);
  bad(() => issueCertificate(ca, { profile: 'server', commonName: 'x', dnsNames: ['-a.example'] }), /not a valid host name label/);
  bad(() => issueCertificate(ca, { profile: 'server', commonName: 'x', ipAddresses: ['300.1.1.1'] }), /not an IP address/);
  bad(() => issueCertificate(ca, { profile: 'server', commonName: 'x', uris: ['no scheme'] }), /printable ASCII|scheme/);
  bad(() => issueCertificate(ca, { profile: 'server', commonName: '' }), /1 to 64 characters/);
  bad(() => issueCertificate(ca, { profile: 'bogus' as never, commonName: 'x' }), /unknown certificate profile/);
  bad(() => issueCertificate(ca, { profile: 'server', commonName: 'x', validityDays: 0 }), /positive/);
  bad(() => issueCertificate({ certificatePem: 'garbage', privateKeyPem: ca.privateKeyPem }, { profile: 'client', commonName: 'x' }), /not a PEM certificate/);
});

test('OpenSSL accepts the chain and the purposes, and reads the same names', { skip: !hasOpenssl && 'openssl is not installed' }, (t) => {
  const dir = tmpdir(t);
  const ca = createCertificateAuthority({ commonName: 'ca' });
  const server = issueCertificate(ca, { profile: 'server', commonName: 'srv', dnsNames: ['srv.example'], ipAddresses: ['10.1.2.3'] });
  const client = issueCertificate(ca, { profile: 'client', commonName: 'cli' });
  const peer = issueCertificate(ca, { profile: 'peer', commonName: 'peer', uris: ['spiffe://td/peer'] });
  const f = (n: string, s: string) => {
    const p = path.join(dir, n);
    fs.writeFileSync(p, s);
    return p;
  };
  const caFile = f('ca.pem', ca.certificatePem);
  const verify = (file: string, purpose: string) =>
    spawnSync('openssl', ['verify', '-CAfile', caFile, '-purpose', purpose, file], { encoding: 'utf8' });
  assert.equal(verify(f('server.pem', server.certificatePem), 'sslserver').status, 0);
  assert.equal(verify(f('client.pem', client.certificatePem), 'sslclient').status, 0);
  assert.equal(verify(f('peer.pem', peer.certificatePem), 'sslserver').status, 0);
  assert.equal(verify(f('peer.pem', peer.certificatePem), 'sslclient').status, 0);
  assert.notEqual(verify(f('client.pem', client.certificatePem), 'sslserver').status, 0, 'a client certificate is not a server certificate');
  const otherCa = f('other.pem', createCertificateAuthority({ commonName: 'ca' }).certificatePem);
  assert.notEqual(spawnSync('openssl', ['verify', '-CAfile', otherCa, path.join(dir, 'server.pem')]).status, 0, 'another CA does not verify it');
  const text = execFileSync('openssl', ['x509', '-in', path.join(dir, 'server.pem'), '-noout', '-text'], { encoding: 'utf8' });
  assert.match(text, /DNS:srv\.example, IP Address:10\.1\.2\.3/);
  assert.match(text, /TLS Web Server Authentication/);
  assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
});

test('certificates made by OpenSSL parse to the same facts OpenSSL reports', { skip: !hasOpenssl && 'openssl is not installed' }, (t) => {
  const dir = tmpdir(t);
  const key = path.join(dir, 'k.pem');
  const crt = path.join(dir, 'c.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', crt, '-days', '30',
    '-subj', '/O=Acme/OU=Ops/CN=example.test',
    '-addext', 'subjectAltName=DNS:example.test,DNS:*.example.test,IP:192.0.2.7,IP:2001:db8::7,URI:https://example.test/x,email:a@example.test',
    '-addext', 'extendedKeyUsage=serverAuth,clientAuth,codeSigning',
  ], { stdio: 'ignore' });
  const pem = fs.readFileSync(crt, 'utf8');
  const info = parseCertificate(pem);
  const x = new X509Certificate(pem);
  assert.equal(info.subject.commonName, 'example.test');
  assert.equal(info.subject.organization, 'Acme');
  assert.equal(info.subject.organizationalUnit, 'Ops');
  assert.deepEqual(info.dnsNames, ['example.test', '*.example.test']);
  assert.deepEqual(info.ipAddresses, ['192.0.2.7', '2001:db8::7']);
  assert.deepEqual(info.uris, ['https://example.test/x']);
  assert.deepEqual(info.emailAddresses, ['a@example.test']);
  assert.deepEqual(info.extendedKeyUsage, ['serverAuth', 'clientAuth', '1.3.6.1.5.5.7.3.3']);
  assert.equal(info.notAfter.getTime(), new Date(x.validTo).getTime());
  assert.equal(info.notBefore.getTime(), new Date(x.validFrom).getTime());
  assert.equal(info.serialNumber, BigInt(`0x${x.serialNumber}`).toString(16));
  assert.equal(info.isCA, x.ca);
  assert.equal(info.publicKeyAlgorithm, '1.2.840.113549.1.1.1');
  assert.ok(verifyIssuedBy(pem, pem), 'self-signed RSA certificate verifies against itself');
});

test('a real TLS handshake: mutual authentication with issued certificates; a foreign client certificate is refused', async (t) => {
  const ca = createCertificateAuthority({ commonName: 'ca' });
  const server = issueCertificate(ca, { profile: 'server', commonName: 'srv', ipAddresses: ['127.0.0.1'] });
  const client = issueCertificate(ca, { profile: 'client', commonName: 'app' });
  const foreignCa = createCertificateAuthority({ commonName: 'ca' });
  const foreign = issueCertificate(foreignCa, { profile: 'client', commonName: 'app' });
  let greeted = 0;
  const srv = tls.createServer({ key: server.privateKeyPem, cert: server.certificatePem, ca: ca.certificatePem, requestCert: true, rejectUnauthorized: true }, (s) => {
    greeted++;
    s.end(`hello ${s.getPeerCertificate().subject.CN}`);
  });
  srv.on('tlsClientError', () => {});
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => srv.close());
  const port = (srv.address() as { port: number }).port;
  const talk = (c: { certificatePem: string; privateKeyPem: string }) =>
    new Promise<string>((resolve, reject) => {
      const s = tls.connect({ host: '127.0.0.1', port, ca: ca.certificatePem, cert: c.certificatePem, key: c.privateKeyPem }, () => undefined);
      let out = '';
      s.on('data', (d) => (out += d));
      s.on('end', () => resolve(out));
      s.on('error', reject);
    });
  assert.equal(await talk(client), 'hello app');
  // TLS 1.3: the client may finish its side of the handshake before the server refuses its certificate.
  const r = await talk(foreign).catch((e: Error) => e);
  assert.ok(r instanceof Error || r === '', `a foreign client certificate got an answer: ${String(r)}`);
  assert.equal(greeted, 1, 'the server never served the foreign client');
});

test('PEM: encode/decode round trip, bundles, labels and bad armour', () => {
  const ca = createCertificateAuthority({ commonName: 'ca' });
  const a = issueCertificate(ca, { profile: 'client', commonName: 'a' });
  const bundle = `# comment\n${ca.certificatePem}\n${a.certificatePem}${a.privateKeyPem}`;
  assert.deepEqual(decodePem(bundle).map((b) => b.label), ['CERTIFICATE', 'CERTIFICATE', 'PRIVATE KEY']);
  assert.deepEqual(parseCertificates(bundle).map((c) => c.subject.commonName), ['ca', 'a']);
  const der = decodePem(ca.certificatePem)[0].der;
  assert.equal(encodePem('CERTIFICATE', der), ca.certificatePem);
  assert.throws(() => decodePem('-----BEGIN CERTIFICATE-----\nAAAA\n-----END PRIVATE KEY-----'), /ends with END/);
  assert.throws(() => decodePem('-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----'), /not valid base64/);
  assert.throws(() => parseCertificates('nothing here'), (e: Error) => e instanceof CertificateError);
  assert.throws(() => parseCertificate(bundle), /exactly one CERTIFICATE/);
  assert.deepEqual(parseCertificate(der).serialNumber, ca.info.serialNumber, 'DER input works too');
});

test('rotation: renewal at two thirds of the lifetime or a fixed time before expiry; names and issuer changes', () => {
  const now = new Date('2032-03-01T00:00:00Z');
  const ca = createCertificateAuthority({ commonName: 'ca', now });
  const cert = issueCertificate(ca, { profile: 'peer', commonName: 'm1', dnsNames: ['m1.x'], ipAddresses: ['10.0.0.1'], validityDays: 90, now, backdateMs: 0 });
  const want = { commonName: 'm1', dnsNames: ['M1.x'], ipAddresses: ['10.0.0.1'], issuerPem: ca.certificatePem };
  assert.equal(renewalTime(cert.info).toISOString(), '2032-04-30T00:00:00.000Z');
  assert.equal(renewalTime(cert.info, { renewBeforeMs: 7 * DAY }).toISOString(), '2032-05-23T00:00:00.000Z');
  assert.equal(rotationReason(cert.info, want, new Date(now.getTime() + 30 * DAY)), undefined);
  assert.equal(rotationReason(cert.info, want, new Date(now.getTime() + 61 * DAY)), 'expiring');
  assert.equal(rotationReason(cert.info, want, new Date(now.getTime() + 90 * DAY)), 'expired');
  assert.equal(rotationReason(cert.info, want, new Date(now.getTime() - DAY)), 'not-yet-valid');
  assert.equal(rotationReason(cert.info, { ...want, dnsNames: ['m1.x', 'extra.x'] }, now), 'names-changed');
  assert.equal(rotationReason(cert.info, { ...want, ipAddresses: [] }, now), 'names-changed');
  assert.equal(rotationReason(cert.info, { ...want, commonName: 'm2' }, now), 'names-changed');
  const newCa = createCertificateAuthority({ commonName: 'ca', now });
  assert.equal(rotationReason(cert.info, { ...want, issuerPem: newCa.certificatePem }, now), 'issuer-changed');
  assert.ok(namesMatch(cert.info, { dnsNames: ['m1.x.'], ipAddresses: ['10.0.0.1'] }), 'trailing dot and case do not matter');
});

test('fuzz: mutated and truncated certificates either parse or fail with CertificateError, fast', () => {
  const ca = createCertificateAuthority({ commonName: 'ca' });
  const seeds = [
    ca.info.der,
    issueCertificate(ca, { profile: 'peer', commonName: 'm', dnsNames: ['a.b'], ipAddresses: ['::1', '1.2.3.4'], uris: ['x:y'] }).info.der,
  ];
  const started = performance.now();
  fc.assert(
    fc.property(
      fc.constantFrom(...seeds),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete', 'truncate')), { minLength: 1, maxLength: 6 }),
      (seed, edits) => {
        let b = Buffer.from(seed);
        for (const [pos, byte, op] of edits) {
          const i = pos % Math.max(1, b.length);
          if (op === 'set') b[i] = byte;
          else if (op === 'insert') b = Buffer.concat([b.subarray(0, i), Buffer.from([byte]), b.subarray(i)]);
          else if (op === 'delete') b = Buffer.concat([b.subarray(0, i), b.subarray(i + 1)]);
          else b = b.subarray(0, i);
        }
        try {
          const info = parseCertificate(b);
          assert.ok(info.notAfter instanceof Date);
        } catch (e) {
          if (!(e instanceof CertificateError)) throw e;
        }
        assert.equal(typeof verifyIssuedBy(b, ca.certificatePem), 'boolean');
      },
    ),
    { numRuns: 3000, seed: 42 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      try {
        parseCertificate(Buffer.concat([Buffer.from([0x30, 0x82, bytes.length >> 8, bytes.length & 0xff]), bytes]));
      } catch (e) {
        if (!(e instanceof CertificateError)) throw e;
      }
    }),
    { numRuns: 3000, seed: 7 },
  );
  assert.ok(performance.now() - started < 15_000, 'parsing hostile input stays fast');
});
