import { Client } from '@temporalio/client';
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type Activities } from './activities';
import { openRiskCounters } from './activities/risk';
import type { RiskCounters } from './store/risk-counters';
import { openChannelHealth, type ChannelHealth } from './routing/channel-health';
import { startChannelRegistry } from './routing/channel-accounts';
import { ConfigError, loadConfig, reportStartupFailure, WORKER_ROLES, type Config } from './infra/config';
import { watchConfigChanges, type ConfigChanges } from './infra/config-changes';
import { openDatabase, type Database } from './infra/db';
import { closeGameServerBrokers } from './fulfillment/registry';
import { createLogger, temporalLogger } from './infra/logger';
import { ReconciliationClient } from './infra/reconciliation';
import { eventRelayMetrics, workerTelemetry } from './infra/metrics';
import { temporalConnectionOptions } from './infra/temporal-connection';
import { natsBroker } from './infra/brokers/nats';
import { rabbitBroker } from './infra/brokers/rabbitmq';
import { natsEventPublisher, rabbitEventPublisher, startEventRelay, type EventRelay, type EventRelayOptions } from './infra/event-relay';
import { orderOutbox } from './store/outbox';
import { StoreSweepClient } from './infra/store-sweeps';

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
  /** Where risk counts (PostgreSQL, or Redis with REDIS_URL); absent: opened here, never closed. */
  riskCounters?: RiskCounters;
}

/**
 * The activities of the fulfillment pool: every call to a game server (deliveries, their broker
 * publishes, revocations, monthly card days). The workflows send them to the order's fulfillment
 * queue through their options (workflows/shared/options.ts onFulfillmentQueue); an activity added there
 * belongs here too.
 */
export const FULFILLMENT_ACTIVITIES = ['deliverOrder', 'revokeGrants', 'deliverMonthlyCardDay'] as const satisfies readonly (keyof Activities)[];

async function activitiesOf({ config, database, changes, health, riskCounters }: PurchaseWorkerDeps): Promise<Activities> {
  const channels = await startChannelRegistry(config, database, changes);
  return createActivities({
    database,
    channels,
    config,
    changes,
    health: (health ?? openChannelHealth(config, database)).store,
    riskCounters: riskCounters ?? openRiskCounters(config, database),
  });
}

/**
 * The purchases pool: every workflow type, and every activity (orders started before the fulfillment
 * pool existed still call their game server on this queue).
 */
export async function createPurchaseWorker(deps: PurchaseWorkerDeps) {
  const { config, connection, workflowBundle, taskQueue } = deps;
  return Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: taskQueue ?? config.TEMPORAL_TASK_QUEUE,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath: require.resolve('./workflows') }),
    activities: await activitiesOf(deps),
    maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
    ...maxConcurrentActivities(config.PURCHASES_MAX_CONCURRENT_ACTIVITIES),
  });
}

/** The fulfillment pool: the calls to game servers only, no workflows, so it grows with the game servers' latency alone. */
export async function createFulfillmentWorker(deps: Omit<PurchaseWorkerDeps, 'workflowBundle'>) {
  const { config, connection, taskQueue } = deps;
  const all = await activitiesOf(deps);
  return Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: taskQueue ?? config.FULFILLMENT_TASK_QUEUE,
    activities: Object.fromEntries(FULFILLMENT_ACTIVITIES.map((name) => [name, all[name]])),
    ...maxConcurrentActivities(config.FULFILLMENT_MAX_CONCURRENT_ACTIVITIES),
  });
}

/**
 * The finance worker: the same workflow types and activities, polling the finance task queue, so
 * reconciliation (heavy statements) is scaled apart from purchases.
 */
export async function createFinanceWorker(deps: PurchaseWorkerDeps) {
  const { config, connection, workflowBundle, taskQueue } = deps;
  return Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: taskQueue ?? config.FINANCE_TASK_QUEUE,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath: require.resolve('./workflows') }),
    activities: await activitiesOf(deps),
    maxCachedWorkflows: config.WORKER_MAX_CACHED_WORKFLOWS,
    ...maxConcurrentActivities(config.FINANCE_MAX_CONCURRENT_ACTIVITIES),
  });
}

/** A pool's activity slots per process; unset keeps the SDK's default. */
const maxConcurrentActivities = (slots: number | undefined): Pick<WorkerOptions, 'maxConcurrentActivityTaskExecutions'> =>
  slots === undefined ? {} : { maxConcurrentActivityTaskExecutions: slots };

/** Each enabled channel account with statements gets its daily reconciliation schedule (idempotent). */
export async function ensureReconciliationSchedules(config: Config, database: Database, client: Client): Promise<string[]> {
  const channels = await startChannelRegistry(config, database);
  const reconciled = channels.names().filter((id) => channels.get(id)?.supports.statement);
  return new ReconciliationClient(client, config).ensureSchedules(reconciled);
}

/**
 * The process's order events relay (EVENTS_BROKER), on a broker connection of its own; none with
 * `none`. Every worker process runs one; one of them publishes at a time.
 */
export function startOrderEventRelay(
  config: Config,
  database: Database,
  { metrics = true, ...options }: Pick<EventRelayOptions, 'log' | 'batchSize' | 'pollMs'> & { /** On the worker runtime's meter. */ metrics?: boolean } = {},
): { relay: EventRelay; close(): Promise<void> } | undefined {
  if (config.EVENTS_BROKER === 'none') return undefined;
  const nats = config.EVENTS_BROKER === 'nats' ? natsBroker(config.NATS_URL) : undefined;
  const rabbit = config.EVENTS_BROKER === 'rabbitmq' ? rabbitBroker(config.AMQP_URL) : undefined;
  const relay = startEventRelay({
    databaseUrl: config.DATABASE_URL,
    outbox: orderOutbox(database.sql),
    publisher: nats ? natsEventPublisher(nats) : rabbitEventPublisher(rabbit!),
    retentionHours: config.EVENTS_RETENTION_HOURS,
    ...(metrics && { metrics: eventRelayMetrics(Runtime.instance().metricMeter) }),
    ...options,
  });
  return {
    relay,
    async close() {
      await relay.close();
      await nats?.close();
      await rabbit?.close();
    },
  };
}

/** Each store account with a history API gets its sweep schedules, one per pass (idempotent). */
export async function ensureStoreSweepSchedules(config: Config, database: Database, client: Client): Promise<string[]> {
  const channels = await startChannelRegistry(config, database);
  const accounts = channels.names().flatMap((channel) => {
    const sweep = channels.get(channel)?.sweep;
    return sweep ? [{ channel, passes: sweep.passes }] : [];
  });
  return new StoreSweepClient(client, config).ensureSchedules(accounts);
}

/**
 * The environment this process runs with: `--queues fulfillment,finance` (or `--queues=...`) sets
 * WORKER_ROLES for this process; it is checked with every other setting.
 */
export function workerEnvironment(argv: string[], env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const unknown: string[] = [];
  let queues: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--queues') queues = argv[++i] ?? '';
    else if (arg.startsWith('--queues=')) queues = arg.slice('--queues='.length);
    else unknown.push(arg);
  }
  if (unknown.length > 0) throw new ConfigError(`Invalid arguments:\n  ${unknown.join(' ')}: the worker takes only --queues <${WORKER_ROLES.join('|')},...>`);
  return queues === undefined ? env : { ...env, WORKER_ROLES: queues };
}

async function main() {
  const config = loadConfig(workerEnvironment(process.argv.slice(2)));
  const log = createLogger(config, 'worker');
  const database = openDatabase(config.DATABASE_URL, config.DATABASE_POOL_SIZE);
  // Before any connection: the runtime is created once per process, with its Prometheus endpoint.
  // Workflow and activity logs (replay-safe) go to the same JSON log, tagged with workflowId.
  Runtime.install({
    logger: temporalLogger(log),
    telemetryOptions: workerTelemetry(config.WORKER_METRICS_ADDRESS),
  });
  const connection = await NativeConnection.connect(temporalConnectionOptions(config));
  const changes = watchConfigChanges(config.DATABASE_URL, log);
  const health = openChannelHealth(config, database, { log });
  const riskCounters = openRiskCounters(config, database, log);
  const events = startOrderEventRelay(config, database, { log });
  const workers: Worker[] = [];
  if (config.WORKER_ROLES.includes('purchases')) workers.push(await createPurchaseWorker({ config, database, connection, changes, health, riskCounters }));
  if (config.WORKER_ROLES.includes('fulfillment')) workers.push(await createFulfillmentWorker({ config, database, connection, changes, health, riskCounters }));
  if (config.WORKER_ROLES.includes('finance')) {
    workers.push(await createFinanceWorker({ config, database, connection, changes, health, riskCounters }));
    const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
    const schedules = await ensureReconciliationSchedules(config, database, client);
    log.info({ schedules, at: config.RECON_TIME, timeZone: config.RECON_TIME_ZONE }, 'reconciliation schedules in place');
    const sweeps = await ensureStoreSweepSchedules(config, database, client);
    log.info({ schedules: sweeps, everyMinutes: config.STORE_SWEEP_INTERVAL_MINUTES }, 'store sweep schedules in place');
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
  await events?.close();
  await changes.close();
  await health.close();
  await riskCounters.close();
  await closeGameServerBrokers();
  await connection.close();
  await database.close();
  log.info('worker stopped');
}

if (require.main === module) {
  main().catch(reportStartupFailure);
}
