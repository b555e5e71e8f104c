// The TLS flags: etcd's names and spellings, and every inconsistent
// combination refused with a one-line error naming the flag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlagError, parseFlags } from './flags.ts';

const base = ['--name', 'a', '--initial-cluster', 'a=https://10.0.0.1:2380', '--listen-peer-urls', 'https://10.0.0.1:2380'];
const peer = ['--peer-cert-file', 'p.pem', '--peer-key-file', 'p-key.pem', '--peer-trusted-ca-file', 'ca.pem'];
const client = ['--listen-client-urls', 'https://10.0.0.1:2379', '--cert-file', 's.pem', '--key-file', 's-key.pem'];

function refused(args: string[], re: RegExp): void {
  assert.throws(() => parseFlags(args), (e: Error) => e instanceof FlagError && re.test(e.message) && !e.message.includes('\n'), String(re));
}

test('https:// URLs with their certificates parse into client and peer TLS settings', () => {
  const c = parseFlags([...base, ...peer, ...client, '--trusted-ca-file', 'ca.pem', '--client-cert-auth=true', '--peer-client-cert-auth'])!;
  assert.deepEqual(c.clientTls, { certFile: 's.pem', keyFile: 's-key.pem', trustedCaFile: 'ca.pem', clientCertAuth: true });
  assert.deepEqual(c.peerTls, { certFile: 'p.pem', keyFile: 'p-key.pem', trustedCaFile: 'ca.pem' });
  assert.deepEqual(c.adminAllowedIdentities, ['replicant-operator']);
  assert.equal(c.tlsReloadIntervalMs, 5000);
  assert.deepEqual(c.advertiseClientUrls, ['https://10.0.0.1:2379']);
  const d = parseFlags([...base, ...peer, ...client, '--admin-allowed-identities', 'ops, spiffe://td/sa/op', '--client-cert-auth=false', '--tls-reload-interval', '250'])!;
  assert.deepEqual(d.adminAllowedIdentities, ['ops', 'spiffe://td/sa/op']);
  assert.equal(d.clientTls!.clientCertAuth, false);
  assert.equal(d.clientTls!.trustedCaFile, undefined);
  assert.equal(d.tlsReloadIntervalMs, 250);
  const plain = parseFlags(['--name', 'a'])!;
  assert.equal(plain.clientTls, undefined);
  assert.equal(plain.peerTls, undefined);
});

test('inconsistent TLS flags are refused with the flag to fix', () => {
  refused([...base, ...peer, '--listen-client-urls', 'https://10.0.0.1:2379'], /https:\/\/ needs --cert-file and --key-file/);
  refused([...base, ...peer, '--cert-file', 's.pem', '--key-file', 'k.pem'], /--cert-file is set but no --listen-client-urls is https/);
  refused([...base, ...peer, ...client.slice(0, 4)], /--cert-file and --key-file must be given together/);
  refused([...base, ...peer, ...client, '--client-cert-auth'], /--client-cert-auth needs --trusted-ca-file/);
  refused([...base, ...peer, ...client, '--listen-client-urls', 'https://10.0.0.1:2379,http://127.0.0.1:2379', '--trusted-ca-file', 'ca.pem', '--client-cert-auth'], /every --listen-client-urls must be https/);
  refused([...base, ...peer, '--trusted-ca-file', 'ca.pem'], /--trusted-ca-file needs --cert-file/);
  refused([...base, ...peer, ...client, '--advertise-client-urls', 'http://10.0.0.1:2379'], /--advertise-client-urls: .* is http:\/\//);
  refused(base, /https:\/\/ needs --peer-cert-file, --peer-key-file and --peer-trusted-ca-file/);
  refused([...base, ...peer.slice(0, 4)], /needs --peer-cert-file, --peer-key-file and --peer-trusted-ca-file/);
  refused([...base, ...peer, '--peer-client-cert-auth=false'], /cannot be turned off/);
  refused([...base, ...peer, '--initial-cluster', 'a=https://10.0.0.1:2380,b=http://10.0.0.2:2380'], /--initial-cluster: http:\/\/10\.0\.0\.2:2380 is http:\/\//);
  refused([...base, ...peer, '--initial-advertise-peer-urls', 'http://10.0.0.1:2380', '--initial-cluster', 'a=http://10.0.0.1:2380'], /every peer URL must be https/);
  refused(['--name', 'a', '--peer-cert-file', 'p.pem'], /need https:\/\/ --listen-peer-urls/);
  refused(['--name', 'a', '--initial-cluster', 'a=http://127.0.0.1:2380,b=https://127.0.0.2:2380'], /is https:\/\/ but --listen-peer-urls is http/);
  refused(['--name', 'a', '--listen-peer-urls', 'http://127.0.0.1:2380,https://127.0.0.1:2390'], /mix of http:\/\/ and https/);
  refused([...base, ...peer, '--admin-allowed-identities', 'a,,b'], /--admin-allowed-identities/);
  refused([...base, ...peer, '--tls-reload-interval', '5'], /--tls-reload-interval/);
});
