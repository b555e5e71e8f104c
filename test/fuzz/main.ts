// `npm run fuzz -- --seconds N [--seed S] [--target NAME,...]`: the longer
// fuzz run. Prints one line per target (inputs and outcomes), then either
// "fuzz: no findings" or the findings with the command that reproduces each,
// and exits 1 on findings. Replicas it starts are stopped on exit and Ctrl-C.
// Must never leave a replica process or temp dir behind.
import { parseArgs } from 'node:util';
import { TARGET_NAMES, runFuzz } from './run.ts';

const { values } = parseArgs({
  options: { seconds: { type: 'string' }, seed: { type: 'string' }, target: { type: 'string' }, help: { type: 'boolean' } },
  strict: true,
});
if (values.help) {
  process.stdout.write(`usage: npm run fuzz -- [--seconds N] [--seed S] [--target NAME,...]\n  targets: ${TARGET_NAMES.join(', ')}\n`);
  process.exit(0);
}
const seconds = Number(values.seconds ?? '60');
if (!Number.isFinite(seconds) || seconds <= 0) {
  process.stderr.write(`fuzz: --seconds must be a positive number, got ${JSON.stringify(values.seconds)}\n`);
  process.exit(2);
}
const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
if (!Number.isSafeInteger(seed) || seed < 0) {
  process.stderr.write(`fuzz: --seed must be a non-negative integer, got ${JSON.stringify(values.seed)}\n`);
  process.exit(2);
}
const targets = values.target?.split(',').map((s) => s.trim()).filter(Boolean);

const cleanups: (() => void | Promise<void>)[] = [];
const cleanup = async () => {
  for (const f of cleanups.reverse()) await f();
};
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

process.stdout.write(`fuzz: ${seconds} s, seed ${seed}${targets ? `, targets ${targets.join(', ')}` : ''}\n`);
let code = 0;
try {
  await runFuzz(
    { after: (f) => cleanups.push(f) },
    {
      seconds,
      seed,
      targets,
      // A single named target with --seed reproduces that target's run exactly.
      exactSeed: targets?.length === 1 && values.seed !== undefined,
      onReport: (r) => process.stdout.write(`${r.target}: ${r.inputs} inputs in ${r.ms} ms ${JSON.stringify(r.outcomes)}\n`),
    },
  );
  process.stdout.write('fuzz: no findings\n');
} catch (e) {
  process.stdout.write(`fuzz: FINDINGS\n${(e as Error).message}\n`);
  code = 1;
} finally {
  await cleanup();
}
process.exit(code);
