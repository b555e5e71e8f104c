// A self-signed serving certificate for the API server's HTTPS port, built with
// node:crypto alone (ECDSA P-256, X.509 v3 written as DER by hand): it is its
// own CA, so pods trust it through their service account's ca.crt, as
// in-cluster clients trust a real cluster's CA.
// It must never be used outside localkube: the key lives in memory and is new
// on every start.
import crypto from 'node:crypto';

export interface ServingCertificate {
  /** cert is the PEM certificate (also the CA bundle clients trust). */
  cert: string;
  /** key is the PEM private key. */
  key: string;
}

// ---- DER ----------------------------------------------------------------------
function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, body: Buffer) => Buffer.concat([Buffer.from([tag]), length(body.length), body]);
const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));
const explicit = (n: number, body: Buffer) => tlv(0xa0 + n, body);
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const octets = (b: Buffer) => tlv(0x04, b);
const bits = (b: Buffer) => tlv(0x03, Buffer.concat([Buffer.from([0]), b]));
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));

function integer(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const trimmed = b.subarray(i);
  return tlv(0x02, trimmed[0] & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out = [parts[0] * 40 + parts[1]];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** time is UTCTime before 2050 and GeneralizedTime from then on (RFC 5280 4.1.2.5). */
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`));
}

const name = (cn: string) => seq(set(seq(oid('2.5.4.3'), utf8(cn))));
const extension = (id: string, critical: boolean, value: Buffer) => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

function ipBytes(ip: string): Buffer {
  return Buffer.from(ip.split('.').map(Number));
}

/**
 * selfSignedCertificate makes a CA-capable serving certificate for the given
 * IPv4 addresses and DNS names, valid from an hour ago for `days` days.
 */
export function selfSignedCertificate(options: { commonName: string; ips: string[]; dnsNames: string[]; days?: number }): ServingCertificate {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const ecdsaWithSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const now = Date.now();
  const serial = crypto.randomBytes(16);
  serial[0] &= 0x7f;
  const altNames = seq(...options.dnsNames.map((d) => tlv(0x82, Buffer.from(d))), ...options.ips.map((ip) => tlv(0x87, ipBytes(ip))));
  const subjectKeyId = crypto.createHash('sha1').update(spki).digest();
  const extensions = seq(
    // basicConstraints: CA (it signs itself), so it can be the clients' trust anchor.
    extension('2.5.29.19', true, seq(bool(true))),
    // keyUsage: digitalSignature, keyCertSign.
    extension('2.5.29.15', true, tlv(0x03, Buffer.from([0x02, 0x84]))),
    // extKeyUsage: serverAuth.
    extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))),
    extension('2.5.29.14', false, octets(subjectKeyId)),
    extension('2.5.29.17', false, altNames),
  );
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(serial),
    ecdsaWithSha256,
    name(options.commonName),
    seq(time(new Date(now - 3600_000)), time(new Date(now + (options.days ?? 365) * 86400_000))),
    name(options.commonName),
    Buffer.from(spki),
    explicit(3, extensions),
  );
  const signature = crypto.sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' });
  const der = seq(tbs, ecdsaWithSha256, bits(signature));
  const pem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
  return { cert: pem, key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}
