// Prints the path of a working Temporal CLI (stdout) so shell scripts can export TEMPORAL_CLI_PATH;
// progress goes to stderr to keep stdout parseable.
import { resolveTemporalCli } from './lib/temporal-cli';

resolveTemporalCli((msg) => console.error(`[ensure-temporal] ${msg}`)).then(
  (cli) => {
    console.log(cli);
    // The SDK's native runtime, once loaded for a download attempt, would keep the process alive.
    process.exit(0);
  },
  (err: Error) => {
    console.error(`[ensure-temporal] ${err.message}`);
    process.exit(1);
  },
);
