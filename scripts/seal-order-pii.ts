// One-off, after the migration that added the sealed columns: `npm run seal-order-pii` (DATABASE_URL,
// PII_KEYS, PII_HASH_KEY). Seals the client IPs and device ids of earlier orders and clears their
// plaintext; run it again at will (it changes only rows that still hold plaintext).
import { loadConfig } from '../infra/config';
import { openDatabase } from '../infra/db';
import { piiKeyring } from '../infra/pii';
import { sealLegacyOrderPii } from '../store/orders';

async function main(): Promise<void> {
  const config = loadConfig();
  const database = openDatabase(config.DATABASE_URL, 2);
  try {
    const sealed = await sealLegacyOrderPii(database.sql, piiKeyring(config));
    console.log(`[seal-order-pii] sealed the personal data of ${sealed} order(s)`);
  } finally {
    await database.close();
  }
}

main().catch((err: Error) => {
  console.error(`[seal-order-pii] ${err.message}`);
  process.exit(1);
});
