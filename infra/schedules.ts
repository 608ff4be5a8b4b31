import { ScheduleAlreadyRunning, type Client, type ScheduleOptions } from '@temporalio/client';

/**
 * Puts a Temporal Schedule in place: creates it, or brings an existing one to these settings (its
 * spec, action and policies; its state stays, so a schedule paused in the Temporal UI stays paused).
 * Idempotent: every worker start calls it for each schedule it owns.
 */
export async function ensureSchedule(client: Client, options: ScheduleOptions): Promise<string> {
  try {
    await client.schedule.create(options);
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    const { spec, action, policies } = options;
    await client.schedule.getHandle(options.scheduleId).update((previous) => ({ ...previous, spec, action, ...(policies && { policies }) }));
  }
  return options.scheduleId;
}
