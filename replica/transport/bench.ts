// Measures peer transport throughput on this machine: one member streams 'app'
// messages with fixed-size entries to another running in a child process, over
// real gRPC on 127.0.0.1. Prints messages/s and MB/s of entry payload and of frames.
// Run: node replica/transport/bench.ts [--messages N] [--entry-bytes B] [--entries-per-msg K] [--batch M] [--target-frame-bytes F]
// It is a measurement tool, never part of the test suite; it stops its child by PID.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import readline from 'node:readline';
import pino from 'pino';
import type { Message } from '../raft/types.ts';
import { message } from '../raft/types.ts';
import { PeerTransport } from './transport.ts';

const { values } = parseArgs({
  options: {
    role: { type: 'string', default: 'sender' },
    messages: { type: 'string', default: '200000' },
    'entry-bytes': { type: 'string', default: '300' },
    'entries-per-msg': { type: 'string', default: '1' },
    batch: { type: 'string', default: '64' },
    'target-frame-bytes': { type: 'string', default: String(256 * 1024) },
  },
});
const total = Number(values.messages);
const entryBytes = Number(values['entry-bytes']);
const perMsg = Number(values['entries-per-msg']);
const batch = Number(values.batch);
const logger = pino({ level: 'warn' });
const tuning = { queueMaxMessages: 16384, queueMaxBytes: 256 * 1024 * 1024, targetFrameBytes: Number(values['target-frame-bytes']) };

if (values.role === 'receiver') {
  let got = 0;
  let first = 0;
  let cpu0 = process.cpuUsage();
  const t = new PeerTransport({
    memberId: 2,
    clusterId: 'bench',
    listenUrl: 'http://127.0.0.1:0',
    logger,
    tuning,
    onMessages: (msgs) => {
      if (got === 0) {
        first = performance.now();
        cpu0 = process.cpuUsage();
      }
      got += msgs.length;
      if (got >= total) {
        const cpu = process.cpuUsage(cpu0);
        console.log(`done ${got} ${(performance.now() - first).toFixed(1)} ${((cpu.user + cpu.system) / 1e3).toFixed(1)}`);
      }
    },
    onUnreachable() {},
    onSnapshotStatus() {},
  });
  await t.start();
  console.log(`listening ${t.listenUrl}`);
  process.on('SIGTERM', () => void t.close().then(() => process.exit(0)));
} else {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--role', 'receiver', '--messages', String(total), '--target-frame-bytes', String(tuning.targetFrameBytes)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = readline.createInterface({ input: child.stdout! });
  const next = () => new Promise<string>((resolve) => lines.once('line', resolve));
  const sender = new PeerTransport({
    memberId: 1,
    clusterId: 'bench',
    listenUrl: 'http://127.0.0.1:0',
    logger,
    tuning,
    onMessages() {},
    onUnreachable() {},
    onSnapshotStatus() {},
  });
  try {
    const url = (await next()).split(' ')[1];
    await sender.start();
    sender.addPeer(2, url);
    while (sender.stats().peers['2'].state !== 'connected') await new Promise((r) => setTimeout(r, 5));

    const payload = new Uint8Array(entryBytes).fill(42);
    const done = next();
    const started = performance.now();
    const cpu0 = process.cpuUsage();
    let index = 1;
    for (let sent = 0, batches = 0; sent < total; batches++) {
      // Let frames drain, as raft's flow control would (at most 8 x batch messages are sent between checks).
      if (batches % 8 === 0) while (sender.stats().peers['2'].queuedMessages > tuning.queueMaxMessages / 2) await new Promise((r) => setImmediate(r));
      const msgs: Message[] = [];
      for (let i = 0; i < batch && sent < total; i++, sent++) {
        const entries = [];
        for (let e = 0; e < perMsg; e++) entries.push({ term: 5, index: index + e, type: 'normal' as const, data: payload });
        msgs.push(message({ type: 'app', from: 1, to: 2, term: 5, logTerm: 5, index: index - 1, commit: index - 1, entries }));
        index += perMsg;
      }
      sender.send(msgs);
      if (batches % 16 === 15) await new Promise((r) => setImmediate(r));
    }
    let deadline: NodeJS.Timeout | undefined;
    const line = await Promise.race([
      done,
      new Promise<never>((_, reject) => {
        const check = () => {
          const st = sender.stats().peers['2'];
          if (st.droppedOverflow + st.droppedUnreachable > 0) reject(new Error(`bench invalid: ${st.droppedOverflow + st.droppedUnreachable} messages dropped`));
          else if (performance.now() - started > 120_000) reject(new Error('bench did not finish within 120 s'));
          else deadline = setTimeout(check, 100);
        };
        check();
      }),
    ]).finally(() => clearTimeout(deadline));
    const secs = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const senderCpuMs = (cpu.user + cpu.system) / 1e3;
    const receiverCpuMs = Number(line.split(' ')[3]);
    const st = sender.stats().peers['2'];
    const payloadMB = (total * perMsg * entryBytes) / 1e6;
    console.log(
      `frames cut at ${tuning.targetFrameBytes} B: ${total} app messages x ${perMsg} entr${perMsg === 1 ? 'y' : 'ies'} x ${entryBytes} B, ${batch} per send(): ` +
        `${(total / secs / 1e3).toFixed(0)}k msg/s, ${(total * perMsg / secs / 1e3).toFixed(0)}k entries/s, ` +
        `${(payloadMB / secs).toFixed(1)} MB/s payload, ${(st.bytesSent / 1e6 / secs).toFixed(1)} MB/s on the wire; ` +
        `${st.framesSent} frames (${(total / st.framesSent).toFixed(0)} msg/frame), dropped ${st.droppedOverflow + st.droppedUnreachable}; ` +
        `CPU per side: sender ${senderCpuMs.toFixed(0)} ms (${(total / senderCpuMs).toFixed(0)}k msg per CPU-s), ` +
        `receiver ${receiverCpuMs.toFixed(0)} ms (${(total / receiverCpuMs).toFixed(0)}k msg per CPU-s)`,
    );
  } finally {
    await sender.close();
    child.kill('SIGTERM');
  }
}
