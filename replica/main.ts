// The replica process: flags → server. A bad flag or an unusable data dir is
// a one-line error and exit status 2 or 1; SIGTERM/SIGINT hand leadership
// over (when leading), stop cleanly and exit 0.
import { FlagError, USAGE, parseFlags } from './server/flags.ts';
import { startReplica } from './server/server.ts';

async function main(argv: string[]): Promise<void> {
  let config;
  try {
    config = parseFlags(argv);
  } catch (e) {
    if (e instanceof FlagError) {
      process.stderr.write(`replicant replica: ${e.message}\n(see --help)\n`);
      process.exit(2);
    }
    throw e;
  }
  if (!config) {
    process.stdout.write(USAGE);
    return;
  }
  let handle;
  try {
    handle = await startReplica(config);
  } catch (e) {
    process.stderr.write(`replicant replica: ${(e as Error).message.split('\n')[0]}\n`);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    handle.log.info({ signal }, 'stopping');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    handle.stop().then(
      () => process.exit(0),
      (err) => {
        handle.log.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

await main(process.argv.slice(2));
