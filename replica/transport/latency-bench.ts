// Measures the round-trip latency of one small raft exchange between two
// processes on 127.0.0.1, for several ways of carrying the peer streams: one
// MessageBatch frame (one 'app' with one 300-byte entry, our batch codec) goes
// out on this side's stream, the peer answers with an 'appResp' frame on its
// own stream (the direction rule, as in raft), N times in sequence.
// Variants (client side → server side, the same on both members):
//   grpc      grpc-js client stream → grpc-js server (the transport's original form)
//   grpc-opts the same with the transport's channel and server options (keepalive, limits)
//   h2-grpc   node:http2 client stream → grpc-js server
//   h2        node:http2 both ends
//   net       raw TCP with the same 5-byte length prefix both ends (the floor)
//   transport PeerTransport as it is (whatever links and server it uses)
// Run: node replica/transport/latency-bench.ts [--variants grpc,grpc-opts,h2-grpc,h2,net,transport] [--n 5000] [--gap-ms 2] [--send-from-immediate]
// A measurement tool, never part of the test suite; it stops its child by PID.
import { spawn } from 'node:child_process';
import http2 from 'node:http2';
import net from 'node:net';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { message, type Message } from '../raft/types.ts';
import { decodeBatch, encodeBatch, encodedMessageSize } from './batch-codec.ts';
import { MessageSplitter } from '../grpc/message-splitter.ts';
import { frameMessage as grpcFrame } from '../grpc/framing.ts';
import { callMetadata, channelOptions, CLUSTER_ID_KEY, MEMBER_ID_KEY, raftServiceDefinition, serverOptions } from './service.ts';
import { DEFAULT_TUNING, PeerTransport } from './transport.ts';
import { RAFT_SERVICE, raftProtoRoot } from './wire.ts';

const { values } = parseArgs({
  options: {
    role: { type: 'string', default: 'driver' },
    variant: { type: 'string', default: '' },
    variants: { type: 'string', default: 'grpc,h2-grpc,h2,net,transport' },
    n: { type: 'string', default: '5000' },
    // send from inside a setImmediate callback, as the replica loop does when a client request woke it
    'send-from-immediate': { type: 'boolean', default: false },
    // idle this long between round trips (a put-1 follower idles ~1-2 ms in its fsync between appends)
    'gap-ms': { type: 'string', default: '0' },
  },
});
const N = Number(values.n);
const LIMIT = 8 * 1024 * 1024;
const fromImmediate = values['send-from-immediate'];
const gapMs = Number(values['gap-ms']);

const appMsg = (from: number, to: number, i: number): Message =>
  message({ type: 'app', from, to, term: 5, logTerm: 5, index: i, commit: i, entries: [{ term: 5, index: i + 1, type: 'normal', data: new Uint8Array(300).fill(7) }] });
const respMsg = (from: number, to: number, i: number): Message => message({ type: 'appResp', from, to, term: 5, index: i + 1, commit: i });

const AckType = raftProtoRoot().lookupType('replicant.raft.v1.StreamAck');
const ackBytes = (id: number) => Buffer.from(AckType.encode({ memberId: id }).finish());

/** A side: a server taking the peer's stream, and a sender writing frames on its own stream to the peer. */
interface Side {
  listen(onMsgs: (msgs: Message[]) => void): Promise<number>;
  connect(port: number): Promise<(msgs: Message[]) => void>;
  close(): void;
}

function grpcServer(self: number, options: grpc.ServerOptions = { 'grpc.enable_channelz': 0 }): Side['listen'] {
  return async (onMsgs) => {
    const server = new grpc.Server(options);
    server.addService(raftServiceDefinition(), {
      Stream: (call: grpc.ServerDuplexStream<Message[], { memberId: number }>) => {
        call.on('data', onMsgs);
        call.write({ memberId: self });
      },
      SendSnapshot: () => undefined,
    });
    const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
    closers.push(() => server.forceShutdown());
    return port;
  };
}

function h2Server(self: number): Side['listen'] {
  return async (onMsgs) => {
    const server = http2.createServer();
    server.on('stream', (stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.write(grpcFrame(ackBytes(self)));
      const split = new MessageSplitter(LIMIT);
      stream.on('data', (chunk: Buffer) => split.push(chunk, (m) => onMsgs(decodeBatch(m))));
    });
    server.on('connection', (s: net.Socket) => s.setNoDelay(true));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => server.close());
    return (server.address() as net.AddressInfo).port;
  };
}

function grpcClient(self: number, options: grpc.ChannelOptions = { 'grpc.enable_channelz': 0, 'grpc.use_local_subchannel_pool': 1 }): Side['connect'] {
  return async (port) => {
    const Client = grpc.makeGenericClientConstructor(raftServiceDefinition(), RAFT_SERVICE);
    const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), options);
    const call = (client as unknown as { Stream(md: grpc.Metadata): grpc.ClientDuplexStream<unknown, unknown> }).Stream(callMetadata(self, 'bench'));
    call.on('error', () => undefined);
    await new Promise((r) => call.once('data', r));
    closers.push(() => client.close());
    return (msgs) => call.write({ messages: msgs, sizes: msgs.map(encodedMessageSize) });
  };
}

function h2Client(self: number): Side['connect'] {
  return async (port) => {
    const session = http2.connect(`http://127.0.0.1:${port}`, { createConnection: () => net.connect({ host: '127.0.0.1', port, noDelay: true }) });
    const req = session.request({
      ':method': 'POST',
      ':path': `/${RAFT_SERVICE}/Stream`,
      'content-type': 'application/grpc',
      te: 'trailers',
      [MEMBER_ID_KEY]: String(self),
      [CLUSTER_ID_KEY]: 'bench',
    });
    const split = new MessageSplitter(LIMIT);
    await new Promise<void>((r) => req.on('data', (c: Buffer) => split.push(c, () => r())));
    closers.push(() => session.destroy());
    return (msgs) => req.write(grpcFrame(encodeBatch(msgs)));
  };
}

function netServer(): Side['listen'] {
  return async (onMsgs) => {
    const server = net.createServer({ noDelay: true }, (s) => {
      const split = new MessageSplitter(LIMIT);
      s.on('data', (chunk: Buffer) => split.push(chunk, (m) => onMsgs(decodeBatch(m))));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => server.close());
    return (server.address() as net.AddressInfo).port;
  };
}

function netClient(): Side['connect'] {
  return async (port) => {
    const s = net.connect({ host: '127.0.0.1', port, noDelay: true });
    await new Promise((r) => s.once('connect', r));
    closers.push(() => s.destroy());
    return (msgs) => s.write(grpcFrame(encodeBatch(msgs)));
  };
}

const closers: (() => void)[] = [];

function side(variant: string, self: number): Side {
  const [listen, connect] =
    variant === 'grpc' ? [grpcServer(self), grpcClient(self)]
    : variant === 'grpc-opts' ? [grpcServer(self, serverOptions(DEFAULT_TUNING)), grpcClient(self, channelOptions(DEFAULT_TUNING, { initialMs: 50, maxMs: 2000 }))]
    : variant === 'h2-grpc' ? [grpcServer(self), h2Client(self)]
    : variant === 'h2' ? [h2Server(self), h2Client(self)]
    : variant === 'net' ? [netServer(), netClient()]
    : [undefined, undefined];
  if (!listen || !connect) throw new Error(`unknown variant ${variant}`);
  return { listen, connect, close: () => closers.splice(0).forEach((c) => c()) };
}

/** transportSide runs a PeerTransport: listen starts it, connect adds the peer and waits for the link. */
function transportSide(self: number): Side {
  let t: PeerTransport | undefined;
  let deliver: (msgs: Message[]) => void = () => undefined;
  return {
    async listen(onMsgs) {
      deliver = onMsgs;
      t = new PeerTransport({
        memberId: self,
        clusterId: 'bench',
        listenUrl: 'http://127.0.0.1:0',
        logger: pino({ level: 'warn' }),
        onMessages: (m) => deliver(m),
        onUnreachable() {},
        onSnapshotStatus() {},
      });
      await t.start();
      return Number(new URL(t.listenUrl).port);
    },
    async connect(port) {
      const peer = 3 - self;
      t!.addPeer(peer, `http://127.0.0.1:${port}`);
      while (t!.stats().peers[String(peer)].state !== 'connected') await new Promise((r) => setTimeout(r, 5));
      return (msgs) => t!.send(msgs);
    },
    close: () => void t?.close(),
  };
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

if (values.role === 'echo') {
  // Member 2: answers every 'app' with an 'appResp' on its own stream.
  const s = values.variant === 'transport' ? transportSide(2) : side(values.variant!, 2);
  let send: ((msgs: Message[]) => void) | undefined;
  const port = await s.listen((msgs) => {
    for (const m of msgs) {
      if (m.type !== 'app') continue;
      if (fromImmediate) setImmediate(() => send?.([respMsg(2, 1, m.index)]));
      else send?.([respMsg(2, 1, m.index)]);
    }
  });
  console.log(`port ${port}`);
  const lines = readline.createInterface({ input: process.stdin });
  const peerPort = Number(await new Promise<string>((r) => lines.once('line', r)));
  send = await s.connect(peerPort);
  console.log('ready');
  process.on('SIGTERM', () => {
    s.close();
    process.exit(0);
  });
} else {
  const rows: string[] = [];
  for (const variant of values.variants!.split(',')) {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--role', 'echo', '--variant', variant, ...(fromImmediate ? ['--send-from-immediate'] : [])], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const next = async () => String((await lines.next()).value);
    const s = variant === 'transport' ? transportSide(1) : side(variant, 1);
    try {
      const childPort = Number((await next()).split(' ')[1]);
      let onAck: () => void = () => undefined;
      const port = await s.listen((msgs) => {
        for (const m of msgs) if (m.type === 'appResp') onAck();
      });
      child.stdin!.write(`${port}\n`);
      const send = await s.connect(childPort);
      await next(); // the child's stream to us is up
      const rtt: number[] = [];
      let cpu0 = process.cpuUsage();
      for (let i = 0; i < N + 200; i++) {
        const t0 = performance.now();
        const got = new Promise<void>((r) => (onAck = r));
        if (fromImmediate) setImmediate(() => send([appMsg(1, 2, i)]));
        else send([appMsg(1, 2, i)]);
        await got;
        if (i >= 200) rtt.push((performance.now() - t0) * 1000); // the first 200 warm up
        if (gapMs > 0) {
          // Both sides idle (the CPU per round trip then includes the idle timer wakes).
          const until = performance.now() + gapMs;
          while (performance.now() < until) await new Promise((r) => setTimeout(r, 1));
        }
        if (i === 199) cpu0 = process.cpuUsage();
      }
      const cpu = process.cpuUsage(cpu0);
      rtt.sort((a, b) => a - b);
      rows.push(`| ${variant} | ${pct(rtt, 50).toFixed(0)} | ${pct(rtt, 90).toFixed(0)} | ${pct(rtt, 99).toFixed(0)} | ${((cpu.user + cpu.system) / N).toFixed(1)} |`);
      console.error(rows.at(-1));
    } finally {
      s.close();
      child.kill('SIGTERM');
    }
  }
  console.log(`round trips: ${N} sequential, one 'app' (300-byte entry) out, one 'appResp' back on the peer's own stream`);
  console.log('| variant | p50 µs | p90 µs | p99 µs | driver CPU µs per round trip |\n|---|---:|---:|---:|---:|');
  console.log(rows.join('\n'));
  process.exit(0);
}
