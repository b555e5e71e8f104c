// History files: both Jepsen line formats parse, write back unchanged, pair
// into operations (single-register and keyed), and bad input is an error
// naming the line. The recorder writes histories the parser reads back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  parseHistory,
  readHistoryFile,
  formatHistory,
  pairOperations,
  HistoryFormatError,
  HistoryRecorder,
  keyword,
} from './index.ts';
import type { HistoryEvent } from './index.ts';

/** strip drops source line numbers so events from different texts compare. */
function strip(events: readonly HistoryEvent[]): HistoryEvent[] {
  return events.map(({ line: _line, ...rest }) => rest);
}

test('reads Jepsen log lines with tabs or spaces, and the :info error value', () => {
  const text = [
    'INFO  jepsen.util - 2\t:invoke\t:cas\t[3 0]',
    'INFO  jepsen.util - 2   :info   :cas    :timed-out',
    '2017-01-01 12:00:00,000{GMT} INFO  jepsen.util - 3 :invoke :read nil',
    '3 :ok :read 4',
    '',
    '; a comment',
    'INFO  jepsen.util - :nemesis\t:info\t:start\t"cut n1"',
  ].join('\n');
  const events = parseHistory(text);
  assert.deepEqual(events, [
    { process: 2, type: 'invoke', f: 'cas', value: [3, 0], line: 1 },
    { process: 2, type: 'info', f: 'cas', value: keyword('timed-out'), line: 2 },
    { process: 3, type: 'invoke', f: 'read', value: null, line: 3 },
    { process: 3, type: 'ok', f: 'read', value: 4, line: 4 },
    { process: 'nemesis', type: 'info', f: 'start', value: 'cut n1', line: 7 },
  ]);
  const ops = pairOperations(events);
  assert.deepEqual(ops, [
    { f: 'cas', from: 3, to: 0, id: 0, process: 2, key: null, status: 'info', invoke: 0, complete: 1, invokeLine: 1, completeLine: 2 },
    { f: 'read', value: 4, id: 1, process: 3, key: null, status: 'ok', invoke: 2, complete: 3, invokeLine: 3, completeLine: 4 },
  ]);
});

test('reads keyed values: [key value] and [key [from to]]', () => {
  const events = parseHistory(`0 :invoke :write ["k1" "v"]
    1 :invoke :cas [7 [nil 1]]
    0 :ok :write ["k1" "v"]
    2 :invoke :read ["k1" nil]
    1 :fail :cas [7 [nil 1]]
    2 :ok :read ["k1" "v"]
    3 :invoke :write [7 2]`);
  const ops = pairOperations(events).map(({ f, key, status, invoke, complete, ...rest }) => ({
    f,
    key,
    status,
    invoke,
    complete,
    ...('value' in rest ? { value: rest.value } : { from: rest.from, to: rest.to }),
  }));
  assert.deepEqual(ops, [
    { f: 'write', key: 'k1', status: 'ok', invoke: 0, complete: 2, value: 'v' },
    { f: 'cas', key: 7, status: 'fail', invoke: 1, complete: 4, from: null, to: 1 },
    { f: 'read', key: 'k1', status: 'ok', invoke: 3, complete: 5, value: 'v' },
    { f: 'write', key: 7, status: 'info', invoke: 6, complete: null, value: 2 },
  ]);
});

test('reads Jepsen EDN event maps, keeping :time and :error', () => {
  const events = parseHistory(`{:type :invoke, :f :write, :value [1 5], :process 0, :time 100, :index 0}
{:type :info, :f :write, :value [1 5], :process 0, :time 250, :error [:timeout "no leader"], :index 1}`);
  assert.deepEqual(events, [
    { process: 0, type: 'invoke', f: 'write', value: [1, 5], time: 100, line: 1 },
    { process: 0, type: 'info', f: 'write', value: [1, 5], error: [keyword('timeout'), 'no leader'], time: 250, line: 2 },
  ]);
});

test('writing and reading back changes nothing, in both formats', () => {
  const corpus = path.join(import.meta.dirname, '..', 'testdata', 'jepsen-etcd', 'etcd_000.log');
  const events = readHistoryFile(corpus);
  const keyed = parseHistory(`0 :invoke :cas ["a b" ["x\\ty" nil]]
    0 :ok :cas ["a b" ["x\\ty" nil]]
    1 :invoke :write [3 -4]
    1 :fail :write [3 -4] {:reason :no-leader}
    :nemesis :invoke :kill ["n1" "n2"]`);
  for (const original of [events, keyed]) {
    for (const format of ['log', 'edn'] as const) {
      assert.deepEqual(strip(parseHistory(formatHistory(original, format))), strip(original), format);
    }
  }
});

test('malformed lines are errors naming the source and line', () => {
  const bad: Array<[string, RegExp]> = [
    ['0 :invoke :read nil\nhello world', /^h\.log:2: expected "PROCESS :TYPE :F VALUE"/],
    ['0 :invoke :read', /^h\.log:1: :invoke :read has no value/],
    ['0 :begin :read nil', /^h\.log:1: type must be :invoke, :ok, :fail or :info/],
    ['x :invoke :read nil', /^h\.log:1: process must be a non-negative integer/],
    ['0 :invoke :write [1 2', /^h\.log:1: unclosed "\["/],
    ['0 :invoke :write 1 :err extra', /^h\.log:1: unexpected text after the value and error/],
    ['{:type :ok, :f :read}', /^h\.log:1: an EDN event needs :process, :type and :f/],
    ['{:type :ok, :f :read, :process "p"}', /^h\.log:1: :process must be/],
  ];
  for (const [text, message] of bad) {
    assert.throws(() => parseHistory(text, 'h.log'), (err: unknown) => err instanceof HistoryFormatError && message.test(err.message), text);
  }
});

test('events that cannot pair or decode are errors naming the line', () => {
  const bad: Array<[string, RegExp]> = [
    ['0 :ok :read 1', /^h\.log:1: process 0 completes :read \(:ok\) but has no pending invoke/],
    ['0 :invoke :read nil\n0 :invoke :write 1', /^h\.log:2: process 0 invokes :write while its :read from line 1 is still pending/],
    ['0 :invoke :read nil\n0 :ok :write 1', /^h\.log:2: process 0 completes :write but invoked :read at line 1/],
    ['0 :invoke :add 1', /^h\.log:1: unsupported :f :add/],
    ['0 :invoke :cas 1', /^h\.log:1: :cas value must be \[from to\] or \[key \[from to\]\]/],
    ['0 :invoke :write [1 2 3]', /^h\.log:1: :write value must be nil, a number, a string, or \[key value\]/],
    ['0 :invoke :read 5', /^h\.log:1: :invoke :read value must be nil or \[key nil\]/],
    ['0 :invoke :write 1\n0 :ok :write 2', /^h\.log:2: :ok :write value differs from its invoke at line 1/],
    ['0 :invoke :read ["a" nil]\n0 :ok :read ["b" 1]', /^h\.log:2: :ok names key b but the invoke at line 1 named a/],
  ];
  for (const [text, message] of bad) {
    assert.throws(() => pairOperations(parseHistory(text, 'h.log'), 'h.log'), (err: unknown) => err instanceof HistoryFormatError && message.test(err.message), text);
  }
});

test('the recorder stamps monotonic times, enforces pairing, and streams to a file', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'replicant-history-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'history.edn');
  let now = 1000n;
  const rec = new HistoryRecorder({ path: file, format: 'edn', clock: () => now });
  now += 5n;
  rec.invoke(0, { f: 'write', key: 'k', value: 'v1' });
  now += 5n;
  rec.invoke(1, { f: 'read', key: 'k' });
  rec.nemesis('info', 'partition', [keyword('isolate'), 'n1']);
  now += 5n;
  rec.ok(0);
  rec.ok(1, 'v1');
  rec.invoke(2, { f: 'cas', key: 'k', from: 'v1', to: 'v2' });
  rec.info(2, keyword('timeout'));
  rec.invoke(3, { f: 'write', value: 9 });
  assert.deepEqual(rec.pending(), [3]);

  assert.throws(() => rec.invoke(3, { f: 'read' }), /process 3 invokes read while its write is still pending/);
  assert.throws(() => rec.ok(4), /process 4 reports :ok but has no pending call/);
  rec.invoke(4, { f: 'read', key: 'k' });
  assert.throws(() => rec.ok(4), /completes a read without the value read/);
  rec.fail(4);
  rec.invoke(5, { f: 'write', key: 'k', value: 1 });
  assert.throws(() => rec.ok(5, 1), /completes a write with a read value/);
  assert.throws(() => rec.invoke(6, { f: 'write', key: 'k', value: Number.NaN }), /register values are nil, finite numbers or strings/);
  assert.throws(() => rec.invoke(-1, { f: 'read' }), /process must be a non-negative integer/);
  rec.close();

  const times = rec.events.map((e) => e.time!);
  assert.deepEqual(times.slice(0, 4), [5, 10, 10, 15]);
  assert.ok(times.every((x, i) => i === 0 || x >= times[i - 1]));
  // The streamed file holds exactly what is in memory, :time included.
  assert.deepEqual(strip(readHistoryFile(file)), strip(rec.events));
  assert.deepEqual(strip(parseHistory(rec.format('log'))), strip(rec.events).map(({ time: _t, ...e }) => e));
  const ops = pairOperations(rec.events);
  assert.deepEqual(
    ops.map((op) => [op.process, op.f, op.key, op.status]),
    [
      [0, 'write', 'k', 'ok'],
      [1, 'read', 'k', 'ok'],
      [2, 'cas', 'k', 'info'],
      [3, 'write', null, 'info'],
      [4, 'read', 'k', 'fail'],
      [5, 'write', 'k', 'info'],
    ],
  );
  assert.match(fs.readFileSync(file, 'utf8').split('\n')[0], /^\{:type :invoke, :f :write, :value \["k" "v1"\], :process 0, :time 5, :index 0\}$/);
});

test('the default recorder writes Jepsen log lines with the real monotonic clock', () => {
  const rec = new HistoryRecorder();
  rec.invoke(0, { f: 'cas', from: null, to: 1 });
  rec.ok(0);
  assert.equal(rec.format(), 'INFO  jepsen.util - 0\t:invoke\t:cas\t[nil 1]\nINFO  jepsen.util - 0\t:ok\t:cas\t[nil 1]\n');
  assert.ok(rec.events[1].time! >= rec.events[0].time!);
});
