import { randomUUID } from 'node:crypto';
import type { Client, ScheduleOptions } from '@temporalio/client';
import { parseTimeOfDay } from '../domain/reconciliation/days';
import { RECONCILIATION, type ReconciliationRun } from '../workflows/contract';
import type { Config } from './config';
import { ensureSchedule } from './schedules';

type ReconciliationConfig = Pick<Config, 'FINANCE_TASK_QUEUE' | 'RECON_TIME' | 'RECON_TIME_ZONE'>;

/** The typed client of reconciliation workflows: runs finance asks for, and the daily schedules. */
export class ReconciliationClient {
  constructor(
    private readonly client: Client,
    private readonly config: ReconciliationConfig,
  ) {}

  /** Starts a request's runs (one child workflow each, in date order); returns the request's workflow id. */
  async startRuns(runs: ReconciliationRun[]): Promise<string> {
    const workflowId = RECONCILIATION.requestWorkflowId(randomUUID());
    await this.client.workflow.start(RECONCILIATION.requestWorkflow, {
      workflowId,
      taskQueue: this.config.FINANCE_TASK_QUEUE,
      args: [runs],
    });
    return workflowId;
  }

  /**
   * One schedule per channel account, daily at RECON_TIME in RECON_TIME_ZONE: created, or brought to
   * the current settings when it exists (a schedule paused in the Temporal UI stays paused).
   */
  async ensureSchedules(channels: string[]): Promise<string[]> {
    const ids: string[] = [];
    for (const channel of channels) ids.push(await ensureSchedule(this.client, this.scheduleOf(channel)));
    return ids;
  }

  scheduleId(channel: string): string {
    return RECONCILIATION.scheduleId(this.config.FINANCE_TASK_QUEUE, channel);
  }

  private scheduleOf(channel: string) {
    const { hour, minute } = parseTimeOfDay(this.config.RECON_TIME)!;
    return {
      scheduleId: this.scheduleId(channel),
      spec: {
        calendars: [{ hour, minute, comment: `daily at ${this.config.RECON_TIME}: the previous calendar day` }],
        timezone: this.config.RECON_TIME_ZONE,
      },
      action: {
        type: 'startWorkflow' as const,
        workflowType: RECONCILIATION.scheduledWorkflow,
        args: [{ channel }],
        taskQueue: this.config.FINANCE_TASK_QUEUE,
        workflowId: `recon-scheduled-${channel}`,
      },
      // One day at a time; a firing missed while Temporal was down is still taken within a day.
      policies: { overlap: 'BUFFER_ONE' as const, catchupWindow: '1 day' },
      state: { note: `reconciles channel account ${channel}'s statement of the previous day` },
    } satisfies ScheduleOptions;
  }
}
