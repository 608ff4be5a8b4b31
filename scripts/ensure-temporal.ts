// Prints the path of a working Temporal CLI (stdout) so shell scripts can export TEMPORAL_CLI_PATH;
// with --server, also builds the real server, its schema tool and the Web UI server and prints their
// paths. Progress goes to stderr to keep stdout parseable.
import { resolveTemporalCli } from './lib/temporal-cli';
import { resolveTemporalServer } from './lib/temporal-server';

const log = (msg: string) => console.error(`[ensure-temporal] ${msg}`);

async function main() {
  console.log(await resolveTemporalCli(log));
  if (process.argv.includes('--server')) {
    const { server, sqlTool, ui } = await resolveTemporalServer(log);
    console.log([server, sqlTool, ui].join('\n'));
  }
}

main().then(
  // The SDK's native runtime, once loaded for a download attempt, would keep the process alive.
  () => process.exit(0),
  (err: Error) => {
    log(err.message);
    process.exit(1);
  },
);
