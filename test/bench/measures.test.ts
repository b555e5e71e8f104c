// The measuring arithmetic: nearest-rank percentiles and merging, the
// failover gap around the signal, /proc parsing, the CPU-profile summary and
// the members' fsync counters, and the measured window's edges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SampleBuffer, median, percentile, summarize } from './latency.ts';
import { unavailability } from './failover.ts';
import { measuredWindow } from './loadgen.ts';
import { parseStat, parseStatusKb, sampleProcess } from './proc-stats.ts';
import { areaOf, summarizeProfile, type CpuProfile } from './profile-summary.ts';
import { FSYNC_METRIC, fsyncDelta, parseGauge, parseHeap, parseHistogramTotals } from './server-metrics.ts';

test('percentiles are nearest-rank over every sample, merged across rounds', () => {
  const a = new Float64Array(Array.from({ length: 50 }, (_, i) => i + 1)); // 1..50
  const b = new Float64Array(Array.from({ length: 50 }, (_, i) => i + 51)); // 51..100
  const s = summarize(b, a);
  assert.equal(s.count, 100);
  assert.equal(s.p50, 50);
  assert.equal(s.p90, 90);
  assert.equal(s.p99, 99);
  assert.equal(s.p999, 100);
  assert.equal(s.max, 100);
  assert.equal(s.mean, 50.5);
  assert.equal(percentile(new Float64Array([7]), 0.99), 7);
  assert.ok(Number.isNaN(summarize().p50));
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
});

test('SampleBuffer grows without losing samples', () => {
  const buf = new SampleBuffer(2);
  for (let i = 0; i < 1000; i++) buf.add(i);
  const s = buf.samples();
  assert.equal(s.length, 1000);
  assert.equal(s[999], 999);
  assert.equal(s[0], 0);
});

test('the failover gap runs from the last success before the signal to the first success issued after it', () => {
  const at = 1000;
  // (start, end) pairs: two before, one straddling (issued before, answered after), two after
  const tl = new Float64Array([900, 950, 960, 990, 980, 1300, 1001, 2100, 1500, 2050]);
  const r = unavailability(tl, at);
  assert.equal(r.gapMs, 2050 - 990);
  assert.equal(r.lateSuccesses, 1);
  assert.equal(r.lastBefore, 990);
  assert.deepEqual(unavailability(new Float64Array([900, 950]), at), { gapMs: null, lateSuccesses: 0, lastBefore: 950 });
  assert.deepEqual(unavailability(new Float64Array([1100, 1200]), at), { gapMs: null, lateSuccesses: 0, lastBefore: null });
});

test('/proc stat and status parsing, also for command names with spaces and parentheses', () => {
  const fields = ['S', '1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '250', '130', '0', '0'];
  assert.equal(parseStat(`4242 (node (x) y) ${fields.join(' ')} 20 0`), (250 + 130) / 100);
  assert.throws(() => parseStat('garbage'), /cannot parse/);
  const status = 'Name:\tnode\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n';
  assert.equal(parseStatusKb(status, 'VmRSS'), 100 * 2 ** 20);
  assert.equal(parseStatusKb(status, 'VmHWM'), 200 * 2 ** 20);
  assert.equal(parseStatusKb(status, 'VmSwap'), 0);
  const me = sampleProcess(process.pid)!;
  assert.ok(me.rssBytes > 10 * 2 ** 20 && me.hwmBytes >= me.rssBytes, JSON.stringify(me));
  assert.ok(me.cpuSeconds >= 0);
  assert.equal(sampleProcess(2 ** 22 + 12345), undefined);
});

test('profile summary: self time per function and area, inclusive time counted once per stack', () => {
  const repo = new URL('../../', import.meta.url).href;
  const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0, columnNumber: 0, scriptId: '0' });
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)', ''), children: [2, 5, 6] },
      { id: 2, callFrame: frame('handleReady', `${repo}replica/server/replica-node.ts`), children: [3] },
      { id: 3, callFrame: frame('save', `${repo}replica/storage/wal-writer.ts`), children: [4] },
      { id: 4, callFrame: frame('handleReady', `${repo}replica/server/replica-node.ts`), children: [] },
      { id: 5, callFrame: frame('(idle)', ''), children: [] },
      { id: 6, callFrame: frame('(garbage collector)', ''), children: [] },
    ],
    startTime: 0,
    endTime: 10_000,
    samples: [3, 3, 4, 5, 5, 5, 6, 2],
    timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
  };
  const s = summarizeProfile(profile, 'x.cpuprofile', 10);
  assert.equal(s.totalMs, 8);
  assert.equal(s.idleMs, 3);
  assert.equal(s.busyMs, 5);
  assert.deepEqual(
    s.byArea.map((a) => [a.area, a.ms]),
    [['replica/storage', 2], ['replica/server', 2], ['GC', 1]],
  );
  const self = Object.fromEntries(s.topSelf.map((f) => [f.fn.split(' ')[0], f.ms]));
  assert.deepEqual(self, { save: 2, handleReady: 2, '(garbage': 1 });
  const incl = Object.fromEntries(s.topInclusive.map((f) => [f.fn.split(' ')[0], f.ms]));
  // handleReady is on 4 stacks (twice on one of them): counted 4 ms, not 5
  assert.equal(incl.handleReady, 4);
  assert.equal(incl.save, 3);
  assert.deepEqual(
    s.byPath.map((a) => [a.area, a.ms]),
    // the stack with handleReady above save counts as WAL work: the most specific project frame wins
    [['WAL writes (replica/storage)', 3], ['GC', 1], ['raft loop glue (replica/server)', 1]],
  );
  assert.equal(areaOf(frame('x', `${repo}node_modules/@grpc/grpc-js/build/src/server.js`)), '@grpc/grpc-js');
  assert.equal(areaOf(frame('x', 'node:internal/http2/core')), 'node:http2');
});

test('fsync totals are summed over series from a Prometheus exposition', () => {
  const text = [
    '# HELP replicant_wal_fsync_duration_seconds x',
    'replicant_wal_fsync_duration_seconds_bucket{member="a",le="0.001"} 3',
    'replicant_wal_fsync_duration_seconds_sum{member="a"} 0.5',
    'replicant_wal_fsync_duration_seconds_count{member="a"} 100',
    'replicant_wal_fsync_duration_seconds_count_other 7',
    'etcd_disk_wal_fsync_duration_seconds_sum 1.25',
    'etcd_disk_wal_fsync_duration_seconds_count 50',
  ].join('\n');
  assert.deepEqual(parseHistogramTotals(text, FSYNC_METRIC.replicant), { count: 100, seconds: 0.5 });
  assert.deepEqual(parseHistogramTotals(text, FSYNC_METRIC.etcd), { count: 50, seconds: 1.25 });
  assert.equal(parseHistogramTotals(text, 'nothing_here'), undefined);
  assert.deepEqual(fsyncDelta({ count: 10, seconds: 1 }, { count: 25, seconds: 1.5 }), { count: 15, seconds: 0.5 });
  assert.equal(fsyncDelta(undefined, { count: 1, seconds: 1 }), undefined);
});

test('heap gauges: V8 used, committed and external for replicant, Go heap for etcd; missing gauges give nothing', () => {
  const text = [
    '# HELP replicant_nodejs_heap_size_used_bytes x',
    'replicant_nodejs_heap_size_used_bytes{member="a"} 1048576',
    'replicant_nodejs_heap_size_total_bytes{member="a"} 4194304',
    'replicant_nodejs_heap_size_total_bytes_other 9',
    'replicant_nodejs_external_memory_bytes{member="a"} 2097152',
    'go_memstats_heap_inuse_bytes 3e+06',
    'go_memstats_heap_sys_bytes 6e+06',
  ].join('\n');
  assert.deepEqual(parseHeap(text, 'replicant'), { usedBytes: 1048576, totalBytes: 4194304, externalBytes: 2097152 });
  assert.deepEqual(parseHeap(text, 'etcd'), { usedBytes: 3e6, totalBytes: 6e6 });
  assert.equal(parseHeap('replicant_nodejs_heap_size_used_bytes 5', 'replicant'), undefined);
  assert.equal(parseGauge(text, 'nothing_here'), undefined);
});

test('profile summary can be cut to the measured windows (monotonic ms)', () => {
  const frame = (functionName: string) => ({ functionName, url: '', lineNumber: 0, columnNumber: 0, scriptId: '0' });
  const profile: CpuProfile = {
    nodes: [{ id: 1, callFrame: frame('(root)'), children: [2] }, { id: 2, callFrame: frame('work'), children: [] }],
    startTime: 1_000_000, // µs: 1000 ms
    endTime: 1_010_000,
    samples: [2, 2, 2, 2, 2],
    timeDeltas: [1000, 1000, 1000, 1000, 1000], // samples at 1001..1005 ms
  };
  assert.equal(summarizeProfile(profile).busyMs, 5);
  assert.equal(summarizeProfile(profile, '', 5, [[1001.5, 1003]]).busyMs, 2);
  assert.equal(summarizeProfile(profile, '', 5, [[1001, 1001], [1005, 1010]]).busyMs, 2);
});

test('the measured window opens and closes exactly once, in order, even when the clients finish before its end timer', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const seen: string[] = [];
  const normal = measuredWindow(100, 1000, (p) => seen.push(`a:${p}`));
  t.mock.timers.tick(99);
  assert.equal(seen.length, 0);
  t.mock.timers.tick(1);
  assert.deepEqual(seen, ['a:start']);
  t.mock.timers.tick(1000);
  assert.deepEqual(seen, ['a:start', 'a:end']);
  normal.close();
  assert.deepEqual(seen, ['a:start', 'a:end'], 'close after the end timer adds nothing');

  // The clients stop by the clock and may all be done before the end timer fires.
  const early = measuredWindow(100, 1000, (p) => seen.push(`b:${p}`));
  t.mock.timers.tick(600);
  early.close();
  assert.deepEqual(seen.slice(2), ['b:start', 'b:end']);
  t.mock.timers.tick(5000);
  assert.deepEqual(seen.slice(2), ['b:start', 'b:end'], 'the cancelled timer does not fire later');

  // Closed before it ever opened (a run that failed at once): both edges, start first.
  const never = measuredWindow(100, 1000, (p) => seen.push(`c:${p}`));
  never.close();
  t.mock.timers.tick(5000);
  assert.deepEqual(seen.slice(4), ['c:start', 'c:end']);
});
