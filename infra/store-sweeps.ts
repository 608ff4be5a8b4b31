import type { Client, ScheduleOptions } from '@temporalio/client';
import { STORE_SWEEP, type StoreSweepWindow } from '../workflows/contract';
import type { Config } from './config';
import { ensureSchedule } from './schedules';

type SweepConfig = Pick<Config, 'FINANCE_TASK_QUEUE' | 'STORE_SWEEP_INTERVAL_MINUTES'>;
type Pass = StoreSweepWindow['pass'];

/** Apple's sweep of every record runs daily; the others every STORE_SWEEP_INTERVAL_MINUTES. */
const DAILY_PASSES: readonly Pass[] = ['ALL'];
const DAY_MS = 86_400_000;

/** The typed client of store sweeps: the schedules (one per account and pass) and runs asked for now. */
export class StoreSweepClient {
  constructor(
    private readonly client: Client,
    private readonly config: SweepConfig,
  ) {}

  /** Creates each account's schedules, or brings them to the current settings (a paused one stays paused). */
  async ensureSchedules(accounts: { channel: string; passes: readonly Pass[] }[]): Promise<string[]> {
    const ids: string[] = [];
    for (const { channel, passes } of accounts) {
      for (const pass of passes) ids.push(await ensureSchedule(this.client, this.scheduleOf(channel, pass)));
    }
    return ids;
  }

  /** One run now, to its end (operations, tests). */
  run(channel: string, pass: Pass, workflowId: string): Promise<StoreSweepWindow & { status: string }> {
    return this.client.workflow.execute(STORE_SWEEP.workflow, {
      workflowId,
      taskQueue: this.config.FINANCE_TASK_QUEUE,
      args: [{ channel, pass }],
    });
  }

  private scheduleOf(channel: string, pass: Pass) {
    const every = DAILY_PASSES.includes(pass) ? DAY_MS : this.config.STORE_SWEEP_INTERVAL_MINUTES * 60_000;
    return {
      scheduleId: STORE_SWEEP.scheduleId(this.config.FINANCE_TASK_QUEUE, channel, pass),
      spec: { intervals: [{ every }] },
      action: {
        type: 'startWorkflow' as const,
        workflowType: STORE_SWEEP.workflow,
        args: [{ channel, pass }],
        taskQueue: this.config.FINANCE_TASK_QUEUE,
        workflowId: STORE_SWEEP.scheduledWorkflowId(channel, pass),
      },
      // Windows overlap and start from the last good one: a missed firing is simply the next one's.
      policies: { overlap: 'SKIP' as const, catchupWindow: '1 hour' },
      state: { note: `sweeps channel account ${channel}'s store history (${pass}) for notifications we never took` },
    } satisfies ScheduleOptions;
  }
}
