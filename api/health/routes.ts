import { Router } from 'express';
import type { Database } from '../../infra/db';
import type { PurchasesClient } from '../../infra/temporal';
import { databaseAnswers } from '../../store/health';

/**
 * Liveness (`/healthz`) and readiness (`/readyz`: the backing services answer and a worker polls; false
 * while draining, so load balancers move away first).
 */
export function healthRouter(deps: { database: Database; purchases: PurchasesClient; lifecycle?: { draining: boolean } }): Router {
  const router = Router();
  const dependencies = async () => {
    const [database, temporal] = await Promise.all([
      databaseAnswers(deps.database.sql),
      deps.purchases.healthy(),
    ]);
    return { database, temporal };
  };
  router.get('/healthz', async (_req, res) => {
    const checks = await dependencies();
    res.status(checks.database && checks.temporal ? 200 : 503).json(checks);
  });
  router.get('/readyz', async (_req, res) => {
    const draining = deps.lifecycle?.draining ?? false;
    const [checks, worker] = await Promise.all([dependencies(), deps.purchases.workerPolls()]);
    const ready = !draining && checks.database && checks.temporal && worker;
    res.status(ready ? 200 : 503).json({ ready, draining, ...checks, worker });
  });
  return router;
}
