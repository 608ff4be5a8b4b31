import { args } from './lib/args';
import { stopStacksOnSignal } from './lib/launcher';

/** `npm run bench -- --mode <mode>`: one script per mode, this picks it. */
const MODES: Record<string, () => Promise<void>> = {
  throughput: async () => (await import('./throughput')).throughputMode(),
  'open-orders': async () => (await import('./open-orders')).openOrdersMode(),
  failover: async () => (await import('./failover')).failoverMode(),
  recon: async () => (await import('./recon')).reconMode(),
  reports: async () => (await import('./reports')).reportsMode(),
  console: async () => (await import('./console')).consoleMode(),
};

async function main() {
  stopStacksOnSignal();
  const modes = args.mode === 'all' ? Object.keys(MODES) : [args.mode!];
  for (const mode of modes) {
    const run = MODES[mode];
    if (!run) throw new Error(`unknown --mode ${args.mode}: ${Object.keys(MODES).join(', ')} or all`);
    await run();
  }
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
