import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { ChannelRegistry } from '../channels/registry';
import type { Config } from '../infra/config';
import type { Db } from '../infra/db';
import type { PurchasesClient } from '../infra/purchases-client';
import { sandboxRouter } from '../sandbox/routes';
import { adminRouter } from './admin';
import { callbacksRouter } from './callbacks';
import { errorHandler, notFoundRoute } from './errors';
import { ordersRouter } from './orders';

export interface AppDeps {
  db: Db;
  config: Config;
  channels: ChannelRegistry;
  purchases: PurchasesClient;
  log: Logger;
}

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);

  app.get('/healthz', async (_req, res) => {
    const [database, temporal] = await Promise.all([
      deps.db.$queryRaw`SELECT 1`.then(
        () => true,
        () => false,
      ),
      deps.purchases.healthy(),
    ]);
    res.status(database && temporal ? 200 : 503).json({ database, temporal });
  });

  app.use(adminRouter(deps));
  app.use(ordersRouter(deps));
  app.use(callbacksRouter(deps));
  if (deps.config.SANDBOX_ENABLED) app.use('/sandbox', sandboxRouter(deps));

  app.use(notFoundRoute);
  app.use(errorHandler(deps.log));
  return app;
}
