// The localkube command line: `npm run localkube -- --port PORT --kubeconfig FILE
// [--nodes N] [--state FILE] [--data-dir DIR] [--image-map FILE] [--image NAME=ARGV-JSON]`.
// Starts the control plane (and the process kubelet), prints how to use it, and
// stops everything on SIGINT/SIGTERM. It must never leave processes behind.
import { parseArgs } from 'node:util';
import { startLocalkube } from './index.ts';

const USAGE = `usage: npm run localkube -- --port PORT --kubeconfig FILE [--nodes N] [--state FILE]
                          [--data-dir DIR] [--image-map FILE] [--image NAME=ARGV-JSON]... [--verbose]`;

function fail(message: string): never {
  process.stderr.write(`localkube: ${message}\n${USAGE}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        port: { type: 'string', default: '0' },
        kubeconfig: { type: 'string' },
        nodes: { type: 'string', default: '1' },
        state: { type: 'string' },
        'data-dir': { type: 'string' },
        'image-map': { type: 'string' },
        image: { type: 'string', multiple: true },
        verbose: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    fail((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const port = Number(v.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be a port number, got "${v.port}"`);
  const nodes = Number(v.nodes);
  if (!Number.isInteger(nodes) || nodes < 0 || nodes > 50) fail(`--nodes must be a whole number from 0 to 50, got "${v.nodes}"`);
  let lk;
  try {
    lk = await startLocalkube({
      port,
      kubeconfigPath: v.kubeconfig,
      stateFile: v.state,
      dataDir: v['data-dir'],
      nodes,
      imageMapFile: v['image-map'],
      images: v.image,
      requestLog: v.verbose ? (line) => process.stderr.write(`${line}\n`) : undefined,
    });
  } catch (err) {
    fail((err as Error).message);
  }
  process.stdout.write(`localkube serving ${lk.url} (${nodes} node${nodes === 1 ? '' : 's'}, addresses 127.${lk.network.block}.0.0/16)\n`);
  process.stdout.write(`export KUBECONFIG=${lk.kubeconfigPath}\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`localkube: ${signal}, stopping\n`);
    lk.stop().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`localkube: stop failed: ${(err as Error).stack}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGHUP', () => stop('SIGHUP'));
}

await main();
