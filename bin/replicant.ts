// The image's single entrypoint: `replicant replica ...` runs a replica
// server, `replicant operator ...` runs the operator. It only dispatches: the
// subcommand's own main module parses every remaining flag. Must never parse
// a subcommand's flags itself, nor load a subcommand it was not asked for
// (the replica must not pay for the Kubernetes client, and vice versa).
import fs from 'node:fs';

export const USAGE = `usage: replicant <command> [flags]

commands:
  replica    run one member of a replica group (see: replicant replica --help)
  operator   run the ReplicaGroup operator (see: replicant operator --help)

flags:
  --help     print this help
  --version  print the version
`;

/**
 * EXT is this file's own extension: .ts when run from the sources, .js in the
 * image, which runs the tree scripts/build-js.ts compiles.
 */
const EXT = import.meta.url.endsWith('.js') ? '.js' : '.ts';

/** SUBCOMMANDS maps each command to its main module, relative to this file. */
const SUBCOMMANDS: Record<string, string> = {
  replica: `../replica/main${EXT}`,
  operator: `../operator/main${EXT}`,
};

/** EXIT_USAGE is the status for a command line we cannot run (as flag errors use). */
const EXIT_USAGE = 2;
/** EXIT_UNAVAILABLE is the status when the build does not contain the asked command. */
const EXIT_UNAVAILABLE = 3;

function version(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    process.stderr.write(USAGE);
    process.exit(EXIT_USAGE);
  }
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  if (command === '--version') {
    process.stdout.write(`replicant ${version()}\n`);
    return;
  }
  const module = Object.hasOwn(SUBCOMMANDS, command) ? SUBCOMMANDS[command] : undefined;
  if (module === undefined) {
    process.stderr.write(`replicant: unknown command ${JSON.stringify(command)} (expected replica or operator; see replicant --help)\n`);
    process.exit(EXIT_USAGE);
  }
  const url = new URL(module, import.meta.url);
  // Checked before importing so that a missing module *inside* the command
  // (a broken build) still fails loudly with Node's own error.
  if (!fs.existsSync(url)) {
    process.stderr.write(`replicant: the ${command} command is not available in this build (${module.slice(3)} is missing)\n`);
    process.exit(EXIT_UNAVAILABLE);
  }
  // The subcommand's main reads process.argv.slice(2) as its own flags: drop
  // the command word so it sees exactly what follows it.
  process.argv.splice(2, process.argv.length - 2, ...rest);
  await import(url.href);
}

await main(process.argv.slice(2));
