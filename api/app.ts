import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { ChannelRegistry } from '../channels/registry';
import { stateAt } from '../domain/routing/breaker';
import type { ChannelHealth } from '../routing/channel-health';
import type { Config } from '../infra/config';
import type { ConfigChanges } from '../infra/config-changes';
import { credentialsKeyring } from '../infra/credentials';
import type { Database } from '../infra/db';
import { createHttpMetrics, createRoutingMetrics, type HttpMetrics } from '../infra/metrics';
import type { ReconciliationClient } from '../infra/reconciliation';
import { createChannelRouter } from '../routing/router';
import type { PurchasesClient } from '../infra/temporal';
import { sandboxRouter } from '../sandbox/routes';
import { DEMO_GAME_ID, DEMO_SECRET } from './shared/demo-catalog';
import { CatalogReader } from '../store/catalog';
import { adminRouter } from './admin/routes';
import { auditRouter } from './audit/routes';
import { riskRouter } from './risk/routes';
import { callbacksRouter } from './callbacks/routes';
import { deliveriesRouter } from './deliveries/routes';
import { channelsRouter } from './channels/routes';
import { consoleRouter } from './console/routes';
import { consoleSession } from './console/session';
import { docsRouter } from './docs/routes';
import { errorHandler, notFoundRoute } from './errors';
import { financeRouter } from './finance/routes';
import { gamesRouter } from './games/routes';
import { monthlyCardsRouter } from './monthly-cards/routes';
import { storefrontRouter } from './storefront/routes';
import { healthRouter } from './health/routes';
import { opsRouter } from './ops/routes';
import { ordersRouter } from './orders/routes';
import { perClientLimit, type RateLimits } from './rate-limit';
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
  /** Requests a second per client IP and per game (api/rate-limit.ts); none when absent (tests of parts). */
  limits?: RateLimits;
  /** The HTTP metrics, served by startApi on API_METRICS_ADDRESS (never on the public port). */
  metrics?: HttpMetrics;
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // Behind TRUST_PROXY load balancers, the client is the address they saw (X-Forwarded-For), else the socket's.
  app.set('trust proxy', deps.config.TRUST_PROXY > 0 ? deps.config.TRUST_PROXY : false);

  // First, so every request is timed; Prometheus scrapes them on API_METRICS_ADDRESS (see server.ts).
  const metrics = deps.metrics ?? createHttpMetrics();
  app.use(metrics.middleware);
  app.use(requestContext(deps.log));
  app.use(healthRouter(deps));
  if (deps.limits) app.use(perClientLimit(deps.limits));

  const catalog = new CatalogReader(deps.database.db, credentialsKeyring(deps.config), deps.config.CATALOGUE_CACHE_MS);
  // A game's channel policy applies to new orders within a second on every API process.
  deps.changes?.on('games', async () => catalog.gamesChanged());
  // An item changed, retired or repriced on any process stops or reprices orders here within a second.
  deps.changes?.on('items', async () => catalog.itemsChanged());
  const routingMetrics = createRoutingMetrics(metrics.registry);
  deps.health.subscribe((report) => {
    const now = Date.now();
    for (const { channelId, breaker } of report.values()) routingMetrics.breakerState(channelId, stateAt(breaker, now, deps.health.settings.breaker));
  });
  const router = createChannelRouter({ ...deps, metrics: routingMetrics });
  app.use(auditRouter(deps));
  // The console's sign-in cookie stands for the admin token on the admin, ops and finance routes.
  app.use(consoleSession(deps));
  app.use(consoleRouter(deps));
  app.use(adminRouter({ ...deps, catalog }));
  app.use(riskRouter(deps));
  app.use(channelsRouter(deps));
  app.use(ordersRouter({ ...deps, catalog, router }));
  app.use(callbacksRouter(deps));
  app.use(opsRouter(deps));
  app.use(gamesRouter({ ...deps, catalog }));
  app.use(monthlyCardsRouter({ ...deps, catalog }));
  app.use(storefrontRouter({ ...deps, catalog }));
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
