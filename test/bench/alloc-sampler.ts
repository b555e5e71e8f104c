// A preload for replicant members that samples what they allocate, including
// what the collectors have already freed (the inspector's sampling heap
// profiler with both "collected by" options), over a window of their
// lifetime, and writes the profile to a file: where a put's garbage comes
// from. Load it with
//   npm run bench -- ... --node-flags="--import=./test/bench/alloc-sampler.ts"
// (node resolves the path from the member's working directory, the
// repository) and set REPLICANT_ALLOC_DIR (default /tmp),
// REPLICANT_ALLOC_FROM_MS and REPLICANT_ALLOC_TO_MS (default 12000 and
// 20000 after the member started). With REPLICANT_ALLOC_SURVIVORS=1 it
// leaves out what scavenges freed: what is left is what survived into the
// old generation (what makes scavenges slow and majors frequent). Summarise with
//   node test/bench/alloc-summary.ts FILE.
// Diagnostics only: nothing else imports it, and it must never change what a
// member does beyond the profiler's own cost.
import inspector from 'node:inspector';
import fs from 'node:fs';
import path from 'node:path';

const dir = process.env.REPLICANT_ALLOC_DIR ?? '/tmp';
const from = Number(process.env.REPLICANT_ALLOC_FROM_MS ?? 12_000);
const to = Number(process.env.REPLICANT_ALLOC_TO_MS ?? 20_000);
const survivorsOnly = process.env.REPLICANT_ALLOC_SURVIVORS === '1';
const session = new inspector.Session();
session.connect();
setTimeout(() => {
  session.post('HeapProfiler.startSampling', { samplingInterval: 16_384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: !survivorsOnly }, (err) => {
    if (err) process.stderr.write(`alloc-sampler: ${err.message}\n`);
  });
  setTimeout(() => {
    session.post('HeapProfiler.stopSampling', (err, result) => {
      if (err) return void process.stderr.write(`alloc-sampler: ${err.message}\n`);
      fs.writeFileSync(path.join(dir, `alloc-${process.pid}.heapprofile`), JSON.stringify(result.profile));
    });
  }, to - from).unref();
}, from).unref();
