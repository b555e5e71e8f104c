// The identity and access rules without sockets: how a certificate's names
// are read (Node's subjectaltname text, quoting, IPv6), which certificates
// may call the admin API, and the peer-port rules against a member table
// (current, unknown and removed members; relayed calls).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import {
  adminIdentity,
  canonicalHost,
  decideClientCall,
  decidePeerCall,
  identifiesPeerUrls,
  identityOf,
  namesHost,
  splitAltNames,
  type CertLike,
  type MemberDirectory,
} from './index.ts';

function cert(cn: string | string[] | undefined, san: string, eku?: string[]): CertLike {
  return { subject: (cn === undefined ? {} : { CN: cn }) as CertLike['subject'], subjectaltname: san, fingerprint256: `fp-${cn}-${san}`, ext_key_usage: eku };
}

test('subjectaltname text splits on separators but not inside quoted values', () => {
  assert.deepEqual(splitAltNames('DNS:a.example, IP Address:127.0.0.1, URI:spiffe://x/y'), ['DNS:a.example', 'IP Address:127.0.0.1', 'URI:spiffe://x/y']);
  assert.deepEqual(splitAltNames('DNS:"a,b.example", URI:"x:\\"q\\""'), ['DNS:a,b.example', 'URI:x:"q"']);
  assert.deepEqual(splitAltNames(''), []);
  assert.throws(() => splitAltNames('DNS:"unterminated'), /unterminated/);
  // a malformed text gives a certificate no names rather than an exception
  assert.deepEqual(identityOf(cert('x', 'DNS:"broken')).dnsNames, []);
});

test('a certificate names hosts exactly: DNS and IP SANs, IPv6 in any spelling, never wildcards or the CN', () => {
  const id = identityOf(cert('m1.peers', 'DNS:M1.Peers.NS.svc, DNS:*.peers.ns.svc, IP Address:10.0.0.1, IP Address:0:0:0:0:0:0:0:1'));
  assert.ok(namesHost(id, 'm1.peers.ns.svc'));
  assert.ok(namesHost(id, 'm1.peers.ns.svc.'));
  assert.ok(namesHost(id, '10.0.0.1'));
  assert.ok(namesHost(id, '[::1]'));
  assert.ok(namesHost(id, '::1'));
  assert.ok(!namesHost(id, 'm2.peers.ns.svc'), 'the wildcard SAN does not name m2');
  assert.ok(!namesHost(id, 'm1.peers'), 'the CN is not a host name');
  assert.ok(!namesHost(id, '10.0.0.10'));
  assert.equal(canonicalHost('[2001:DB8:0:0:0:0:0:1]'), '2001:db8::1');
  assert.ok(identifiesPeerUrls(id, ['https://10.0.0.1:2380']));
  assert.ok(identifiesPeerUrls(id, ['https://[::1]:2380']));
  assert.ok(!identifiesPeerUrls(id, ['https://10.0.0.2:2380', 'not a url']));
  const byUri = identityOf(cert('x', 'URI:https://127.0.0.1:12380'));
  assert.ok(identifiesPeerUrls(byUri, ['https://127.0.0.1:12380']), 'a URI SAN naming the exact peer URL identifies the member');
  assert.ok(!identifiesPeerUrls(byUri, ['https://127.0.0.1:22380']), 'another port on the same host does not');
});

test('admin identities match the CN, a URI SAN or a DNS SAN, exactly', () => {
  const allowed = ['replicant-operator', 'spiffe://cluster.local/ns/replicant/sa/operator'];
  assert.equal(adminIdentity(identityOf(cert('replicant-operator', '')), allowed), 'replicant-operator');
  assert.equal(adminIdentity(identityOf(cert(['app', 'replicant-operator'], '')), allowed), 'replicant-operator');
  assert.equal(adminIdentity(identityOf(cert('app', 'URI:spiffe://cluster.local/ns/replicant/sa/operator')), allowed), allowed[1]);
  assert.equal(adminIdentity(identityOf(cert('app', 'DNS:replicant-operator')), allowed), 'replicant-operator');
  assert.equal(adminIdentity(identityOf(cert('replicant-operator-2', 'DNS:x')), allowed), undefined);
  assert.equal(adminIdentity(identityOf(cert('Replicant-Operator', '')), allowed), undefined, 'CN comparison is exact');
});

test('client port: admin and membership-change calls need a verified allowed identity; KV needs a certificate only with --client-cert-auth', () => {
  const policy = { tls: true, clientCertAuth: false, adminIdentities: ['replicant-operator'] };
  const op = identityOf(cert('replicant-operator', '', ['1.3.6.1.5.5.7.3.2']));
  const app = identityOf(cert('app', ''));
  const serverOnly = identityOf(cert('replicant-operator', '', ['1.3.6.1.5.5.7.3.1']));
  const admin = '/replicant.admin.v1.Admin/ChangeMembership';
  assert.equal(decideClientCall(policy, admin, op), undefined);
  assert.equal(decideClientCall(policy, admin, undefined)?.code, grpc.status.UNAUTHENTICATED);
  assert.equal(decideClientCall(policy, admin, app)?.code, grpc.status.PERMISSION_DENIED);
  assert.match(decideClientCall(policy, admin, app)!.details, /CN=app.*not allowed.*replicant-operator/);
  assert.equal(decideClientCall(policy, admin, serverOnly)?.code, grpc.status.PERMISSION_DENIED, 'a server-only certificate is not a client certificate');
  assert.equal(decideClientCall(policy, '/replicant.admin.v1.Admin/Status', app)?.code, grpc.status.PERMISSION_DENIED, 'reads too');
  for (const m of ['MemberAdd', 'MemberRemove', 'MemberPromote', 'MemberUpdate']) {
    assert.equal(decideClientCall(policy, `/etcdserverpb.Cluster/${m}`, app)?.code, grpc.status.PERMISSION_DENIED, m);
  }
  assert.equal(decideClientCall(policy, '/etcdserverpb.Cluster/MemberList', undefined), undefined);
  assert.equal(decideClientCall(policy, '/etcdserverpb.KV/Put', undefined), undefined);
  const strict = { ...policy, clientCertAuth: true };
  assert.equal(decideClientCall(strict, '/etcdserverpb.KV/Put', undefined)?.code, grpc.status.UNAUTHENTICATED);
  assert.equal(decideClientCall(strict, '/etcdserverpb.KV/Put', app), undefined);
  const plaintext = { tls: false, clientCertAuth: false, adminIdentities: ['replicant-operator'] };
  assert.equal(decideClientCall(plaintext, admin, undefined), undefined, 'without TLS there is nothing to check');
});

function directory(current: Record<number, string[]>, removed: Record<number, string[]> = {}): MemberDirectory {
  return {
    get: (id) => (current[id] ? { peerURLs: current[id] } : undefined),
    isRemoved: (id) => id in removed,
    list: () => Object.entries(current).map(([id, peerURLs]) => ({ id: Number(id), peerURLs })),
    removedMembers: () => Object.entries(removed).map(([id, peerURLs]) => ({ id: Number(id), peerURLs })),
  };
}

test('peer port: the certificate must name the claimed member; removed members and their certificates are refused', () => {
  const members = directory({ 1: ['https://10.0.0.1:2380'], 2: ['https://m2.peers:2380'] }, { 9: ['https://10.0.0.9:2380'] });
  const stream = '/replicant.raft.v1.Raft/Stream';
  const c1 = identityOf(cert('m1', 'IP Address:10.0.0.1'));
  const c2 = identityOf(cert('m2', 'DNS:m2.peers'));
  const c9 = identityOf(cert('m9', 'IP Address:10.0.0.9'));
  const newcomer = identityOf(cert('m7', 'IP Address:10.0.0.7'));
  const clientOnly = identityOf(cert('m1', 'IP Address:10.0.0.1', ['1.3.6.1.5.5.7.3.1']));
  const ok = (claimed: number | undefined, c: ReturnType<typeof identityOf> | undefined, path = stream) => decidePeerCall(members, true, path, claimed, c);
  assert.equal(ok(1, c1), undefined);
  assert.equal(ok(2, c2), undefined);
  assert.match(ok(2, c1)!.details, /does not name member 2/);
  assert.equal(ok(1, undefined)?.code, grpc.status.UNAUTHENTICATED);
  assert.match(ok(1, clientOnly)!.details, /lacks clientAuth/);
  assert.match(ok(9, c9)!.details, /member 9 was removed/);
  assert.match(ok(7, c9)!.details, /belongs to removed member 9/, 'a removed member claiming a fresh id');
  assert.match(ok(7, c1)!.details, /belongs to member 1, not to member 7/, 'a current member claiming another id');
  assert.equal(ok(7, newcomer), undefined, 'a member this one has not heard of yet is let in');
  const appCert = identityOf(cert('app', '', ['1.3.6.1.5.5.7.3.2']));
  assert.match(ok(7, appCert)!.details, /not a peer certificate/, 'an application client certificate cannot pose as a new member');
  const namelessPeer = identityOf(cert('m8', '', ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']));
  assert.match(ok(8, namelessPeer)!.details, /not a peer certificate/);
  assert.match(ok(undefined, appCert, '/replicant.peer.v1.Membership/Checkpoints')!.details, /names no member and its certificate .* is not a peer certificate/);
  assert.match(ok(undefined, c9, '/replicant.peer.v1.Membership/FindMember')!.details, /removed member 9/);
  assert.equal(ok(undefined, newcomer, '/replicant.peer.v1.Membership/FindMember'), undefined, 'a joining member may ask who it is');
  assert.equal(ok(undefined, c2, '/replicant.admin.v1.Admin/ChangeMembership'), undefined, 'members relay admin calls');
  assert.match(ok(undefined, newcomer, '/replicant.admin.v1.Admin/ChangeMembership')!.details, /relayed only by a current member/);
  assert.match(ok(undefined, newcomer, '/etcdserverpb.Cluster/MemberRemove')!.details, /relayed only by a current member/);
  // Without TLS only the claims count.
  assert.equal(decidePeerCall(members, false, stream, 2, undefined), undefined);
  assert.match(decidePeerCall(members, false, stream, 9, undefined)!.details, /removed/);
});
