/**
 * A relay in a process of its own, as a worker process runs it, for tests that kill it
 * (test/e2e/order-events.test.ts). Environment: the worker's settings; RELAY_BATCH_SIZE.
 */
import { loadConfig } from '../../infra/config';
import { openDatabase } from '../../infra/db';
import { startOrderEventRelay } from '../../worker';

const config = loadConfig();
const database = openDatabase(config.DATABASE_URL, 4);
const running = startOrderEventRelay(config, database, { metrics: false, batchSize: Number(process.env.RELAY_BATCH_SIZE ?? 500) });
if (!running) throw new Error('EVENTS_BROKER is none');
process.on('SIGTERM', () => void running.close().then(() => database.close()).then(() => process.exit(0)));
