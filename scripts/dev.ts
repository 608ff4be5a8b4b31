import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { signedHeaders } from '../domain/signature';
import { loadConfig } from '../infra/config';
import { createDb } from '../infra/db';
import { migrate } from '../infra/migrate';
import { startTemporalDevServer } from '../infra/temporal-cli';
import { startDemoGameServer } from './demo-game-server';

/**
 * `npm run dev`: the whole system on its embedded defaults — a file-backed Temporal dev server with
 * its UI, migrated PostgreSQL, a demo game with a demo game server, the worker and the API.
 */
const ROOT = resolve(__dirname, '..');
const DATA = join(ROOT, '.data');
const DEMO_GAME_ID = 'demo-game';
const DEMO_SECRET = 'demo-secret-for-local-development-only-0001';
const DEMO_GAME_PORT = Number(process.env.DEMO_GAME_PORT ?? 4001);
const log = (m: string) => console.log(`[dev] ${m}`);

async function main() {
  mkdirSync(DATA, { recursive: true });
  const config = loadConfig();
  const children: ChildProcess[] = [];
  const stops: (() => Promise<unknown>)[] = [];
  const shutdown = async () => {
    log('stopping');
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());

  const env: NodeJS.ProcessEnv = { ...process.env };
  if (!process.env.TEMPORAL_ADDRESS) {
    const [host, port] = config.TEMPORAL_ADDRESS.split(':');
    log('starting the Temporal dev server (file-backed, with its Web UI)');
    const temporal = await startTemporalDevServer({
      dbFile: join(DATA, 'temporal.db'),
      port: Number(port ?? 7233),
      uiPort: Number(process.env.TEMPORAL_UI_PORT ?? 8233),
      logFile: join(DATA, 'temporal.log'),
      log,
    });
    if (host !== '127.0.0.1' && host !== 'localhost') log(`note: serving Temporal on ${temporal.address}`);
    env.TEMPORAL_ADDRESS = temporal.address;
    stops.push(() => temporal.stop());
    log(`Temporal UI: ${temporal.uiUrl}`);
  }

  log(`migrating ${redactUrl(config.DATABASE_URL)}`);
  const { applied } = await migrate(config.DATABASE_URL, { log });
  log(applied.length ? `applied ${applied.join(', ')}` : 'database is up to date');

  const gameServer = await startDemoGameServer({
    port: DEMO_GAME_PORT,
    secret: DEMO_SECRET,
    logFile: join(DATA, 'demo-deliveries.log'),
    log,
  });
  stops.push(() => new Promise((r) => gameServer.close(r)));
  await seedDemo(config.DATABASE_URL);

  for (const [name, entry] of [
    ['worker', 'worker.ts'],
    ['api', 'api/server.ts'],
  ]) {
    const child = spawn(process.execPath, ['--import', 'tsx', entry], { cwd: ROOT, env, stdio: 'inherit' });
    child.once('exit', (code) => {
      if (code && code !== 0) log(`${name} exited with ${code}`);
    });
    children.push(child);
  }

  const apiUrl = `http://127.0.0.1:${config.PORT}`;
  await waitForHealthy(apiUrl);
  const sample = await sampleOrder(apiUrl);
  console.log(
    [
      '',
      'Payment center is running:',
      `  API              ${apiUrl}   (health: ${apiUrl}/healthz)`,
      `  Temporal UI      http://127.0.0.1:${process.env.TEMPORAL_UI_PORT ?? 8233}   (query: OrderStatus='DELIVERING')`,
      `  Sample checkout  ${sample}`,
      `  Demo game        id ${DEMO_GAME_ID}, secret ${DEMO_SECRET}`,
      `  Deliveries log   ${join(DATA, 'demo-deliveries.log')}`,
      `  Admin token      ${config.ADMIN_TOKEN === process.env.ADMIN_TOKEN ? '(from ADMIN_TOKEN)' : config.ADMIN_TOKEN}`,
      'Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  );
}

async function seedDemo(databaseUrl: string) {
  const db = createDb(databaseUrl, 1);
  const game = {
    name: 'Demo Game',
    secret: DEMO_SECRET,
    deliveryUrl: `http://127.0.0.1:${DEMO_GAME_PORT}/deliveries`,
  };
  await db.game.upsert({ where: { id: DEMO_GAME_ID }, create: { id: DEMO_GAME_ID, ...game }, update: game });
  const items = [
    {
      sku: 'demo-gems-60',
      name: '60 Gems',
      grants: [{ itemId: 'gem', quantity: 60 }],
      stockAvailable: null,
      prices: [
        { region: 'CN', currency: 'CNY', amount: 600 },
        { region: 'JP', currency: 'JPY', amount: 160 },
        { region: '*', currency: 'USD', amount: 99 },
      ],
    },
    {
      sku: 'demo-founder-pack',
      name: 'Founder Pack (limited)',
      grants: [
        { itemId: 'gem', quantity: 300 },
        { itemId: 'founder-skin', quantity: 1 },
      ],
      stockAvailable: 1000,
      prices: [
        { region: 'CN', currency: 'CNY', amount: 3000 },
        { region: '*', currency: 'USD', amount: 499 },
      ],
    },
  ];
  for (const { prices, ...item } of items) {
    const fields = { ...item, gameId: DEMO_GAME_ID };
    // Keep the remaining stock of a limited item across restarts.
    await db.item.upsert({ where: { sku: item.sku }, create: fields, update: { name: item.name, grants: item.grants } });
    for (const price of prices) {
      await db.itemPrice.upsert({
        where: { sku_region: { sku: item.sku, region: price.region } },
        create: { sku: item.sku, ...price },
        update: price,
      });
    }
  }
  await db.$disconnect();
}

async function waitForHealthy(apiUrl: string) {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${apiUrl}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error('the API did not become healthy within 2 minutes');
}

async function sampleOrder(apiUrl: string): Promise<string> {
  const body = JSON.stringify({ userId: 'demo-player-1', sku: 'demo-gems-60', region: 'CN' });
  const headers = signedHeaders(
    DEMO_SECRET,
    DEMO_GAME_ID,
    'POST',
    '/v1/orders',
    body,
    randomBytes(16).toString('hex'),
    Math.floor(Date.now() / 1000),
  );
  const res = await fetch(`${apiUrl}/v1/orders`, {
    method: 'POST',
    headers: { ...headers, 'Content-Type': 'application/json', 'Idempotency-Key': randomUUID() },
    body,
  });
  const created = (await res.json()) as { payment?: { payUrl?: string }; error?: unknown };
  return created.payment?.payUrl ?? `(sample order failed: ${JSON.stringify(created)})`;
}

function redactUrl(url: string) {
  return url.replace(/\/\/([^:@/]+):[^@/]+@/, '//$1:***@');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
