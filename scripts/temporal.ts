// `npm run temporal -- <args>`: the project's own Temporal CLI, pointed at this deployment's server
// (TEMPORAL_ADDRESS, else the dev server's 127.0.0.1:TEMPORAL_DEV_PORT) and namespace.
// Example: npm run temporal -- workflow list --query "OrderStatus='DELIVERING'"
import { spawn } from 'node:child_process';
import { loadConfig } from '../infra/config';
import { resolveTemporalCli } from './lib/temporal-cli';

async function main() {
  const config = loadConfig();
  const cli = await resolveTemporalCli((m) => console.error(`[temporal] ${m}`));
  const address = process.env.TEMPORAL_ADDRESS ?? `127.0.0.1:${config.TEMPORAL_DEV_PORT}`;
  const child = spawn(cli, process.argv.slice(2), {
    stdio: 'inherit',
    env: { ...process.env, TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: config.TEMPORAL_NAMESPACE },
  });
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

main().catch((err: Error) => {
  console.error(`[temporal] ${err.message}`);
  process.exit(1);
});
