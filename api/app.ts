import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { ChannelRegistry } from '../channels/registry';
import type { Config } from '../infra/config';
import type { Db } from '../infra/db';
import { createHttpMetrics } from '../infra/metrics';
import type { PurchasesClient } from '../infra/purchases-client';
import { sandboxRouter } from '../sandbox/routes';
import { adminRouter } from './admin';
import { Catalogue } from './catalogue';
import { callbacksRouter } from './callbacks';
import { docsRouter } from './docs';
import { errorHandler, notFoundRoute } from './errors';
import { opsRouter } from './ops';
import { requestContext } from './request-context';
import { ordersRouter } from './orders';

export interface AppDeps {
  db: Db;
  config: Config;
  channels: ChannelRegistry;
  purchases: PurchasesClient;
  log: Logger;
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

  const dependencies = async () => {
    const [database, temporal] = await Promise.all([
      deps.db.$queryRaw`SELECT 1`.then(
        () => true,
        () => false,
      ),
      deps.purchases.healthy(),
    ]);
    return { database, temporal };
  };
  app.get('/healthz', async (_req, res) => {
    const checks = await dependencies();
    res.status(checks.database && checks.temporal ? 200 : 503).json(checks);
  });
  // Readiness also turns false while draining, so load balancers stop sending before we stop accepting.
  app.get('/readyz', async (_req, res) => {
    const draining = deps.lifecycle?.draining ?? false;
    const checks = await dependencies();
    const ready = !draining && checks.database && checks.temporal;
    res.status(ready ? 200 : 503).json({ ready, draining, ...checks });
  });

  const catalogue = new Catalogue(deps.db, deps.config.CATALOGUE_CACHE_MS);
  app.use(adminRouter({ ...deps, catalogue }));
  app.use(ordersRouter({ ...deps, catalogue }));
  app.use(callbacksRouter(deps));
  app.use(opsRouter(deps));
  if (deps.config.SANDBOX_ENABLED) app.use('/sandbox', sandboxRouter(deps));
  app.use(docsRouter({ sandbox: deps.config.SANDBOX_ENABLED }));

  app.use(notFoundRoute);
  app.use(errorHandler(deps.log));
  return app;
}
