// Brings the configured database up to date: `npx tsx scripts/migrate.ts` (DATABASE_URL).
import { loadConfig } from '../infra/config';
import { migrate } from './lib/migrate';

async function main(): Promise<void> {
  const { DATABASE_URL } = loadConfig();
  const { applied } = await migrate(DATABASE_URL, { log: (m) => console.log(`[migrate] ${m}`) });
  console.log(`[migrate] ${applied.length ? `applied ${applied.join(', ')}` : 'database is up to date'}`);
}

main().catch((err: Error) => {
  console.error(`[migrate] ${err.message}`);
  process.exit(1);
});
