// The bounded fuzz run of `npm test`: every target (decoders, storage
// recovery, client port, peer port) for about 20 seconds in total with a
// fixed seed (FUZZ_SEED overrides it, FUZZ_SECONDS the budget). The longer
// run with fresh seeds is `npm run fuzz -- --seconds N`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runFuzz } from './run.ts';

test('fuzz: random and mutated input at the client, admin and peer ports and into WAL, snapshot and entry decoding: no crash, no hang, no change from rejected input', async (t) => {
  const seed = Number(process.env.FUZZ_SEED ?? 20260101);
  const seconds = Number(process.env.FUZZ_SECONDS ?? 20);
  const reports = await runFuzz(t, { seconds, seed });
  for (const r of reports) t.diagnostic(`${r.target}: ${r.inputs} inputs in ${r.ms} ms ${JSON.stringify(r.outcomes)}`);
  assert.equal(reports.length, 11, 'every target ran');
  for (const r of reports) assert.ok(r.inputs > 0, `${r.target} ran no input`);
});
