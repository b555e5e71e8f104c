// Microbenchmark behind one of the optimisation proposals in
// docs/benchmarks.md: server CPU per etcd Put on the client API's transport,
// with the same KV work behind it (decode, command codec, apply to a KvStore,
// encode the answer) and no raft. Variant "lean" is the replica's real client
// API stack (registerEtcdApi on the lean GrpcServer, over the test-only
// SingleNodeBackend); "grpc-js" is the same handlers on a grpc-js server (the
// stack before it); "http2" does the same KV work behind a minimal unary
// handler on node:http2 (the floor for a node:http2 server). Each server runs in its own child process
// (CPU read from /proc), driven by the benchmark's lean client at 64 requests
// in flight, in alternating rounds; the KV work alone is timed in-process for
// reference. Usage:
//   node test/bench/grpc-server-cost.ts [--seconds 5] [--rounds 3]
// It is a measuring tool: it must never be used to serve anything, and binds
// only 127.0.0.1.
import { fork } from 'node:child_process';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { KvStore, RequestIdGenerator, encodeCommand, type KvCommand, type PutRequest } from '../../replica/kv/index.ts';
import { ETCD_PROTO_ROOT } from '../../replica/server/etcdapi/wire.ts';
import { SingleNodeBackend } from '../../replica/server/etcdapi/single-node-backend.ts';
import { maxReceiveBytes, registerEtcdApi } from '../../replica/server/etcdapi/index.ts';
import { GrpcServer } from '../../replica/grpc/index.ts';
import { LeanChannel } from './lean-grpc.ts';
import { RPC, encodePut } from './etcd-wire.ts';
import { sampleProcess } from './proc-stats.ts';

type Variant = 'grpc-js' | 'lean' | 'http2';
const VARIANTS: Variant[] = ['grpc-js', 'lean', 'http2'];

/** serveGrpcJs runs the replica's etcd API on grpc-js over an in-memory store, with the options the client port had on grpc-js. */
async function serveGrpcJs(): Promise<number> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': maxReceiveBytes({}), 'grpc.max_send_message_length': -1, 'grpc.enable_channelz': 0 });
  registerEtcdApi(server, new SingleNodeBackend());
  return new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
}

/** serveLean runs the replica's etcd API on the client port's GrpcServer over an in-memory store. */
async function serveLean(): Promise<number> {
  const server = new GrpcServer({ maxReceiveBytes: maxReceiveBytes({}) });
  registerEtcdApi(server, new SingleNodeBackend());
  return server.listen({ host: '127.0.0.1', port: 0 });
}

/** serveHttp2 does the same KV work for Put behind a bare node:http2 unary handler. */
async function serveHttp2(): Promise<number> {
  const store = new KvStore();
  const ids = new RequestIdGenerator(1, 0);
  const PutReq = ETCD_PROTO_ROOT.lookupType('etcdserverpb.PutRequest');
  const PutRes = ETCD_PROTO_ROOT.lookupType('etcdserverpb.PutResponse');
  let index = 0;
  const server = http2.createServer();
  server.on('stream', (stream) => {
    const chunks: Buffer[] = [];
    stream.on('data', (d: Buffer) => chunks.push(d));
    stream.on('end', () => {
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      const req = PutReq.decode(body.subarray(5)) as unknown as PutRequest;
      const command = { kind: 'put', requestId: ids.next(), request: req } as KvCommand;
      const result = store.applyEntry(++index, encodeCommand(command));
      const header = result.kind === 'put' ? result.response.header : undefined;
      const msg = PutRes.encode({ header: { clusterId: 1, memberId: 1, raftTerm: 2, revision: header?.revision ?? store.revision } }).finish();
      const frame = Buffer.allocUnsafe(5 + msg.length);
      frame[0] = 0;
      frame.writeUInt32BE(msg.length, 1);
      frame.set(msg, 5);
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(frame);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

async function child(variant: Variant): Promise<void> {
  const port = variant === 'grpc-js' ? await serveGrpcJs() : variant === 'lean' ? await serveLean() : await serveHttp2();
  process.send!({ port });
  process.on('disconnect', () => process.exit(0));
}

async function drive(port: number, seconds: number): Promise<number> {
  const ch = new LeanChannel(`127.0.0.1:${port}`);
  const value = Buffer.alloc(256, 7);
  let ops = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: 64 }, async (_, i) => {
      let k = i;
      while (performance.now() < end) {
        await ch.unary(RPC.put, encodePut(Buffer.from(`bench/p/${String(k++ % 100_000).padStart(8, '0')}`), value), 5000);
        ops++;
      }
    }),
  );
  ch.close();
  return ops;
}

async function measure(variant: Variant, seconds: number): Promise<{ ops: number; cpuUsPerOp: number }> {
  const proc = fork(fileURLToPath(import.meta.url), ['--child', variant], { execPath: process.execPath, execArgv: [], stdio: 'inherit' });
  try {
    const { port } = await new Promise<{ port: number }>((resolve, reject) => {
      proc.once('message', (m) => resolve(m as { port: number }));
      proc.once('exit', (code) => reject(new Error(`${variant} server exited (${code})`)));
    });
    await drive(port, 1); // warm up
    const before = sampleProcess(proc.pid!)!;
    const ops = await drive(port, seconds);
    const after = sampleProcess(proc.pid!)!;
    return { ops, cpuUsPerOp: ((after.cpuSeconds - before.cpuSeconds) * 1e6) / ops };
  } finally {
    proc.kill('SIGKILL');
  }
}

/** kvWorkOnly times the KV work of one put without any transport (decode, codec, apply, encode), in this process. */
function kvWorkOnly(n: number): number {
  const store = new KvStore();
  const ids = new RequestIdGenerator(1, 0);
  const PutReq = ETCD_PROTO_ROOT.lookupType('etcdserverpb.PutRequest');
  const PutRes = ETCD_PROTO_ROOT.lookupType('etcdserverpb.PutResponse');
  const value = Buffer.alloc(256, 7);
  const started = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    const req = PutReq.decode(encodePut(Buffer.from(`bench/p/${String(i % 100_000).padStart(8, '0')}`), value)) as unknown as PutRequest;
    const result = store.applyEntry(i + 1, encodeCommand({ kind: 'put', requestId: ids.next(), request: req } as KvCommand));
    PutRes.encode({ header: { clusterId: 1, memberId: 1, raftTerm: 2, revision: result.kind === 'put' ? result.response.header?.revision : 0 } }).finish();
  }
  const used = process.cpuUsage(started);
  return (used.user + used.system) / n;
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === '--child') return child(argv[1] as Variant);
  const opt = (name: string, def: number) => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : def;
  };
  const seconds = opt('--seconds', 5);
  const rounds = opt('--rounds', 3);
  const results: Record<Variant, number[]> = { 'grpc-js': [], lean: [], http2: [] };
  for (let r = 0; r < rounds; r++) {
    for (const v of r % 2 ? [...VARIANTS].reverse() : VARIANTS) {
      const m = await measure(v, seconds);
      results[v].push(m.cpuUsPerOp);
      process.stdout.write(`round ${r + 1} ${v.padEnd(7)}: ${(m.ops / seconds).toFixed(0)} puts/s, server CPU ${m.cpuUsPerOp.toFixed(0)} µs per put\n`);
    }
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  kvWorkOnly(20_000); // warm up
  process.stdout.write(`KV work alone (no transport), in-process: ${kvWorkOnly(100_000).toFixed(0)} µs CPU per put\n`);
  process.stdout.write(`median server CPU per put: ${VARIANTS.map((v) => `${v} ${med(results[v]).toFixed(0)} µs`).join(', ')}\n`);
}

await main(process.argv.slice(2));
