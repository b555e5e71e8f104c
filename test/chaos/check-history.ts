// Entry point of `npm run check-history -- FILE...`: see check-history-command.ts.
// It must never do more than wire argv, the console and the exit status.
import { runCheckHistory } from './check-history-command.ts';

process.exitCode = runCheckHistory(process.argv.slice(2), console);
