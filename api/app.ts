import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { ChannelRegistry } from '../channels/registry';
import { stateAt } from '../domain/routing/breaker';
import type { ChannelHealth } from '../routing/channel-health';
import type { Config } from '../infra/config';
import type { ConfigChanges } from '../infra/config-changes';
import { credentialsKeyring } from '../infra/credentials';
import type { Database } from '../infra/db';
import { createHttpMetrics, createRoutingMetrics } from '../infra/metrics';
import type { ReconciliationClient } from '../infra/reconciliation';
import { createChannelRouter } from '../routing/router';
import type { PurchasesClient } from '../infra/temporal';
import { sandboxRouter } from '../sandbox/routes';
import { DEMO_GAME_ID, DEMO_SECRET } from './shared/demo-catalog';
import { CatalogReader } from '../store/catalog';
import { adminRouter } from './admin/routes';
import { callbacksRouter } from './callbacks/routes';
import { deliveriesRouter } from './deliveries/routes';
import { channelsRouter } from './channels/routes';
import { docsRouter } from './docs/routes';
import { errorHandler, notFoundRoute } from './errors';
import { financeRouter } from './finance/routes';
import { gamesRouter } from './games/routes';
import { healthRouter } from './health/routes';
import { opsRouter } from './ops/routes';
import { ordersRouter } from './orders/routes';
import { requestContext } from './request-context';

export interface AppDeps {
  database: Database;
  config: Config;
  channels: ChannelRegistry;
  purchases: PurchasesClient;
  reconciliations: ReconciliationClient;
  /** The channel accounts' breakers and success rates, shared by every process. */
  health: ChannelHealth;
  log: Logger;
  /** Configuration changes (the admin API's writes reload this process at once, others within a second). */
  changes?: ConfigChanges;
  /** Set when the process is shutting down: /readyz then sends traffic elsewhere. */
  lifecycle?: { draining: boolean };
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);

  // First, so every request is timed; Prometheus scrapes /metrics (keep it off the public ingress).
  const metrics = createHttpMetrics();
  app.use(metrics.middleware);
  app.use(requestContext(deps.log));
  app.get('/metrics', metrics.endpoint);
  app.use(healthRouter(deps));

  const catalog = new CatalogReader(deps.database.db, credentialsKeyring(deps.config), deps.config.CATALOGUE_CACHE_MS);
  // A game's channel policy applies to new orders within a second on every API process.
  deps.changes?.on('games', async () => catalog.gamesChanged());
  const routingMetrics = createRoutingMetrics(metrics.registry);
  deps.health.subscribe((report) => {
    const now = Date.now();
    for (const { channelId, breaker } of report.values()) routingMetrics.breakerState(channelId, stateAt(breaker, now, deps.health.settings.breaker));
  });
  const router = createChannelRouter({ ...deps, metrics: routingMetrics });
  app.use(adminRouter({ ...deps, catalog }));
  app.use(channelsRouter(deps));
  app.use(ordersRouter({ ...deps, catalog, router }));
  app.use(callbacksRouter(deps));
  app.use(opsRouter(deps));
  app.use(gamesRouter({ ...deps, catalog }));
  app.use(deliveriesRouter({ ...deps, catalog }));
  app.use(financeRouter(deps));
  if (deps.config.SANDBOX_ENABLED) app.use('/sandbox', sandboxRouter(deps));
  app.use(
    docsRouter({
      sandbox: deps.config.SANDBOX_ENABLED,
      // "Try it out" signs as the demo game only in development, where that game exists.
      ...(deps.config.NODE_ENV === 'development' && { demoSigner: { gameId: DEMO_GAME_ID, secret: DEMO_SECRET } }),
    }),
  );

  app.use(notFoundRoute);
  app.use(errorHandler(deps.log));
  return app;
}
