import { consoleApiTypes, CONSOLE_SCHEMA, writeConsoleApiTypes } from './lib/console-api';

// Regenerates the console's typed API client after a route or schema changed (a unit test fails until
// then); `--print` writes the generated types to stdout instead (the test compares them).
const main = process.argv.includes('--print')
  ? consoleApiTypes().then((types) => void process.stdout.write(types))
  : writeConsoleApiTypes().then((changed) => console.log(changed ? `wrote ${CONSOLE_SCHEMA}` : `${CONSOLE_SCHEMA} is up to date`));
main.catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
