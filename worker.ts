import { Client } from '@temporalio/client';
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from './activities';
import { openChannelHealth, type ChannelHealth } from './routing/channel-health';
import { startChannelRegistry } from './routing/channel-accounts';
import { loadConfig, reportStartupFailure, type Config } from './infra/config';
import { watchConfigChanges, type ConfigChanges } from './infra/config-changes';
import { openDatabase, type Database } from './infra/db';
import { closeGameServerBrokers } from './fulfillment/registry';
import { createLogger, temporalLogger } from './infra/logger';
import { ReconciliationClient } from './infra/reconciliation';
import { workerTelemetry } from './infra/metrics';

export interface PurchaseWorkerDeps {
  config: Config;
  database: Database;
  connection: NativeConnection;
  /** Pre-built workflow bundle (tests, production images); otherwise bundled from ./workflows. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  taskQueue?: string;
  /** Configuration changes made through any process (channel accounts); absent: loaded once. */
  changes?: ConfigChanges;
  /** The channels' shared health (breakers); absent: opened here on PostgreSQL or REDIS_URL, never closed. */
  health?: ChannelHealth;
}

export async function createPurchaseWorker({ config, database, connection, workflowBundle, taskQueue, changes, health }: PurchaseWorkerDeps) {
  const channels = await startChannelRegistry(config, database, changes);
  return Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: taskQueue ?? config.TEMPORAL_TASK_QUEUE,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath: require.resolve('./workflows') }),
    activities: createActivities({ database, channels, config, health: (health ?? openChannelHealth(config, database)).store }),
    maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
  });
}

/**
 * The finance worker: the same workflow types and activities, polling the finance task queue, so
 * reconciliation (heavy statements) is scaled apart from purchases.
 */
export function createFinanceWorker(deps: PurchaseWorkerDeps) {
  return createPurchaseWorker({ ...deps, taskQueue: deps.taskQueue ?? deps.config.FINANCE_TASK_QUEUE });
}

/** Each enabled channel account with statements gets its daily reconciliation schedule (idempotent). */
export async function ensureReconciliationSchedules(config: Config, database: Database, client: Client): Promise<string[]> {
  const channels = await startChannelRegistry(config, database);
  const reconciled = channels.names().filter((id) => channels.get(id)?.supports.statement);
  return new ReconciliationClient(client, config).ensureSchedules(reconciled);
}

async function main() {
  const config = loadConfig();
  const log = createLogger(config, 'worker');
  const database = openDatabase(config.DATABASE_URL, config.DATABASE_POOL_SIZE);
  // Before any connection: the runtime is created once per process, with its Prometheus endpoint.
  // Workflow and activity logs (replay-safe) go to the same JSON log, tagged with workflowId.
  Runtime.install({
    logger: temporalLogger(log),
    telemetryOptions: workerTelemetry(config.WORKER_METRICS_ADDRESS),
  });
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const changes = watchConfigChanges(config.DATABASE_URL, log);
  const health = openChannelHealth(config, database, { log });
  const workers: Worker[] = [];
  if (config.WORKER_ROLES.includes('purchases')) workers.push(await createPurchaseWorker({ config, database, connection, changes, health }));
  if (config.WORKER_ROLES.includes('finance')) {
    workers.push(await createFinanceWorker({ config, database, connection, changes, health }));
    const schedules = await ensureReconciliationSchedules(config, database, new Client({ connection, namespace: config.TEMPORAL_NAMESPACE }));
    log.info({ schedules, at: config.RECON_TIME, timeZone: config.RECON_TIME_ZONE }, 'reconciliation schedules in place');
  }
  log.info(
    {
      taskQueues: workers.map((w) => w.options.taskQueue),
      temporal: config.TEMPORAL_ADDRESS,
      metrics: `http://${config.WORKER_METRICS_ADDRESS}/metrics`,
    },
    'worker started',
  );
  // Worker.run drains in-flight tasks on SIGINT/SIGTERM before it resolves.
  await Promise.all(workers.map((w) => w.run()));
  await changes.close();
  await health.close();
  await closeGameServerBrokers();
  await connection.close();
  await database.close();
  log.info('worker stopped');
}

if (require.main === module) {
  main().catch(reportStartupFailure);
}
