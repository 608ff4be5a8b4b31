import { generateKeyPairSync } from 'node:crypto';
import path from 'node:path';
import { freshSecrets } from '../../testkit/secrets';
import { migrate, quoteIdent, withMaintenanceDb } from '../../scripts/lib/migrate';
import { REPO_ROOT, resolveTemporalCli, startTemporalDevServer, type DevServer } from '../../scripts/lib/temporal-cli';
import { startTemporalServer } from '../../scripts/lib/temporal-server';

export const DEV_SERVER_KEY = '__paymentsTestTemporalServer';
const DEFAULT_TEST_DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/payments_test';

const log = (msg: string) => console.log(`[global-setup] ${msg}`);

/** The database is dropped below, so a DATABASE_URL naming real data is redirected to a `_test` sibling. */
function testDatabaseUrl(): string {
  const url = new URL(process.env.DATABASE_URL ?? DEFAULT_TEST_DATABASE_URL);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!/test/i.test(name)) url.pathname = `/${encodeURIComponent(`${name}_test`)}`;
  return url.toString();
}

async function freshDatabase(databaseUrl: string): Promise<void> {
  // FORCE: connections left over from an aborted run must not keep the old schema alive.
  await withMaintenanceDb(databaseUrl, (admin, name) =>
    admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`),
  );
  const { applied } = await migrate(databaseUrl, { log });
  log(`database ${new URL(databaseUrl).pathname.slice(1)} migrated (${applied.join(", ")})`);
  // Each test file's system runs on its own copy of the migrated database (see Harness.start).
  await withMaintenanceDb(databaseUrl, async (admin, name) => {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(templateName(name))} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${quoteIdent(templateName(name))} TEMPLATE ${quoteIdent(name)}`);
  });
}

/** The migrated, empty database each test file's harness copies. */
export const templateName = (name: string) => `${name}_template`;

async function startTemporal(databaseUrl: string): Promise<DevServer> {
  if (process.env.TEMPORAL_MODE === 'server') {
    // Its own databases beside the test database (`<db>_temporal*`), fresh each run.
    const server = await startTemporalServer({
      databaseUrl: process.env.TEMPORAL_DATABASE_URL ?? databaseUrl,
      dataDir: path.join(REPO_ROOT, '.temporal', 'test-server'),
      // Its frontend port (the next eight follow) when set, as for `npm run dev`; otherwise any free block.
      port: Number(process.env.TEMPORAL_DEV_PORT) || undefined,
      headless: true,
      fresh: true,
      log,
      logFile: path.join(REPO_ROOT, '.temporal', 'test-server.log'),
    });
    log(`Temporal server at ${server.address} (PostgreSQL)`);
    return server;
  }
  const cliPath = await resolveTemporalCli(log);
  const server = await startTemporalDevServer({
    cliPath,
    headless: true,
    log,
    logFile: path.join(REPO_ROOT, '.temporal', 'test-server.log'),
  });
  log(`Temporal dev server at ${server.address} (${cliPath})`);
  return server;
}

export default async function globalSetup(): Promise<void> {
  const databaseUrl = testDatabaseUrl();
  const [server] = await Promise.all([startTemporal(databaseUrl), freshDatabase(databaseUrl)]);
  (globalThis as Record<string, unknown>)[DEV_SERVER_KEY] = server;
  // Test workers are forked after this and inherit process.env.
  process.env.TEMPORAL_ADDRESS = server.address;
  process.env.DATABASE_URL = databaseUrl;
  // One sandbox key pair for every API the tests start, as a multi-process deployment configures it.
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  process.env.SANDBOX_PRIVATE_KEY = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  process.env.SANDBOX_PUBLIC_KEY = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  // NODE_ENV=test has no defaults (only development does): this run's own admin token and credentials key.
  // The game servers, the sandbox and the channel fakes listen on 127.0.0.1 over plain http, for every
  // process a test starts too (tests of the egress guard turn these off).
  Object.assign(process.env, freshSecrets(), { SANDBOX_ENABLED: 'true', EGRESS_ALLOW_PRIVATE_NETWORKS: 'true', EGRESS_ALLOW_HTTP: 'true' });
}
