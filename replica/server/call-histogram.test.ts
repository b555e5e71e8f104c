// The call latency histogram exposes exactly what prom-client's Histogram
// exposes for the same observations (text format and JSON), whatever the
// methods, codes and values (label values that need escaping too), including values on a bucket's bound and above
// every bound; it refuses values that are not numbers, as prom-client does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { CallHistogram } from './call-histogram.ts';

const BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

test('the exposition equals prom-client Histogram for the same observations', async () => {
  const observation = fc.record({
    method: fc.constantFrom('KV.Put', 'KV.Range', 'Maintenance.Status', 'a"b\\c'),
    code: fc.constantFrom('OK', 'UNAVAILABLE', 'DEADLINE_EXCEEDED'),
    seconds: fc.oneof(fc.constantFrom(...BUCKETS, 0, 7), fc.double({ min: 0, max: 10, noNaN: true })),
  });
  await fc.assert(
    fc.asyncProperty(fc.array(observation, { maxLength: 60 }), async (calls) => {
      const ours = new Registry();
      const theirs = new Registry();
      const h = new CallHistogram({ name: 'x_seconds', help: 'Calls.', buckets: BUCKETS, registers: [ours] });
      const reference = new Histogram({ name: 'x_seconds', help: 'Calls.', labelNames: ['method', 'code'], buckets: BUCKETS, registers: [theirs] });
      for (const c of calls) {
        h.observe(c.method, c.code, c.seconds);
        reference.observe({ method: c.method, code: c.code }, c.seconds);
      }
      assert.equal(await ours.metrics(), await theirs.metrics());
      // JSON: the same lines with the same labels and values (prom-client adds exemplar slots, unused here)
      const lines = async (r: Registry) =>
        (await r.getMetricsAsJSON()).flatMap((m) => m.values.map((v) => ({ labels: v.labels, value: v.value, metricName: (v as { metricName?: string }).metricName })));
      assert.deepEqual(await lines(ours), await lines(theirs));
    }),
    { numRuns: 200 },
  );
});

test('a value that is not a finite number is refused, and buckets must ascend', () => {
  const h = new CallHistogram({ name: 'y_seconds', help: 'Calls.', buckets: [1, 2], registers: [] });
  assert.throws(() => h.observe('KV.Put', 'OK', Number.NaN), TypeError);
  assert.throws(() => new CallHistogram({ name: 'z', help: 'z', buckets: [2, 1], registers: [] }), /ascending/);
});
