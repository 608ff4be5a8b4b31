import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Config, WorkerRole } from './config';

/** One worker pool as a process serves it: its role, its task queue, and what its pollers ask for. */
export interface WorkerQueue {
  role: WorkerRole;
  taskQueue: string;
  /** The fulfillment pool runs activities only; the others poll for workflow tasks (and activities). */
  polls: 'WORKFLOW' | 'ACTIVITY';
}

type QueueSettings = Pick<Config, 'WORKER_ROLES' | 'TEMPORAL_TASK_QUEUE' | 'FULFILLMENT_TASK_QUEUE' | 'FINANCE_TASK_QUEUE'>;

/** The task queues of `roles` (default: the process's WORKER_ROLES). */
export function workerQueues(config: QueueSettings, roles: readonly WorkerRole[] = config.WORKER_ROLES): WorkerQueue[] {
  const of: Record<WorkerRole, WorkerQueue> = {
    purchases: { role: 'purchases', taskQueue: config.TEMPORAL_TASK_QUEUE, polls: 'WORKFLOW' },
    fulfillment: { role: 'fulfillment', taskQueue: config.FULFILLMENT_TASK_QUEUE, polls: 'ACTIVITY' },
    finance: { role: 'finance', taskQueue: config.FINANCE_TASK_QUEUE, polls: 'WORKFLOW' },
  };
  return roles.map((role) => of[role]);
}

const { TaskQueueType } = temporal.api.enums.v1;

/**
 * The queues the worker with `identity` (the SDK's `pid@host`) does not poll yet: a process is ready
 * once this is empty.
 */
export async function queuesNotPolled(connection: Connection, namespace: string, identity: string, queues: WorkerQueue[]): Promise<WorkerQueue[]> {
  const polled = await Promise.all(
    queues.map(async (queue) => {
      const { pollers } = await connection.workflowService.describeTaskQueue({
        namespace,
        taskQueue: { name: queue.taskQueue },
        taskQueueType: queue.polls === 'ACTIVITY' ? TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY : TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      });
      return (pollers ?? []).some((poller) => poller.identity === identity);
    }),
  );
  return queues.filter((_, i) => !polled[i]);
}
