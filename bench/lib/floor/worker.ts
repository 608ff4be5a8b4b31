import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { loadConfig } from '../../../infra/config';
import { workerTelemetry } from '../../../infra/metrics';
import { createFloorActivities } from './activities';

/**
 * The floor's worker process: created exactly like worker.ts creates the purchase worker (its
 * workflow cache, otherwise SDK defaults, workflows bundled from source, the same runtime telemetry),
 * with the no-op activities.
 */
async function main() {
  const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
  const taskQueue = process.env.TEMPORAL_TASK_QUEUE ?? 'bench-floor';
  Runtime.install({ telemetryOptions: workerTelemetry(process.env.WORKER_METRICS_ADDRESS ?? '127.0.0.1:0') });
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    namespace: 'default',
    taskQueue,
    workflowsPath: require.resolve('./workflows'),
    activities: createFloorActivities(),
    maxCachedWorkflows: loadConfig().WORKER_MAX_CACHED_WORKFLOWS,
  });
  await worker.run();
  await connection.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
