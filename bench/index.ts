import { args } from './lib/args';
import { stopStacksOnSignal } from './lib/launcher';

/** `npm run bench -- --mode <mode>`: one script per mode, this picks it. */
const MODES: Record<string, () => Promise<void>> = {
  throughput: async () => (await import('./throughput')).throughputMode(),
  'open-orders': async () => (await import('./open-orders')).openOrdersMode(),
  failover: async () => (await import('./failover')).failoverMode(),
  recon: async () => (await import('./recon')).reconMode(),
  reports: async () => (await import('./reports')).reportsMode(),
  storefront: async () => (await import('./storefront')).storefrontMode(),
  oversell: async () => (await import('./oversell')).oversellMode(),
  delivery: async () => (await import('./delivery')).deliveryMode(),
  console: async () => (await import('./console')).consoleMode(),
  risk: async () => (await import('./risk')).riskMode(),
};

async function main() {
  stopStacksOnSignal();
  // `--delivery http,nats,rabbitmq` alone picks the delivery mode.
  const mode = args.delivery && args.mode === 'throughput' ? 'delivery' : args.mode!;
  const modes = mode === 'all' ? Object.keys(MODES).filter((m) => m !== 'delivery') : [mode];
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
