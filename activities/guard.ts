import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { databaseErrorKind, type RunSql } from '../infra/db';
import { clearActivityFailure, recordActivityFailure } from '../store/activity-failures';
import { FAILURE } from '../workflows/contract';

type AnyActivity = (...args: never[]) => Promise<unknown>;

/**
 * Every activity, guarded the same way:
 * - a database error that the data itself caused (SQLSTATE class 22 or 23) is non-retryable
 *   (`DATA_ERROR`): the same input fails the same way forever, so the workflow ends the order in a
 *   defined state instead of retrying;
 * - every failed attempt is recorded (best effort) and cleared on success, so operations can list
 *   what has been failing for how long, with its last error (GET /v1/ops/stuck).
 */
export function guardActivities<T extends Record<string, AnyActivity>>(activities: T, run: RunSql): T {
  return Object.fromEntries(
    Object.entries(activities).map(([name, activity]) => [name, guarded(name, activity, run)]),
  ) as T;
}

function guarded(name: string, activity: AnyActivity, run: RunSql): AnyActivity {
  return async (...args) => {
    const { workflowExecution, attempt } = Context.current().info;
    const workflowId = workflowExecution?.workflowId ?? 'unknown';
    try {
      const result = await activity(...args);
      if (attempt > 1) await clearActivityFailure(run, workflowId, name).catch(() => undefined);
      return result;
    } catch (err) {
      const dataError = databaseErrorKind(err) === 'DATA';
      const message = describe(err);
      await recordActivityFailure(run, { workflowId, activityType: name, attempt, error: message }).catch(
        () => undefined, // the database may be what is failing
      );
      if (dataError) throw ApplicationFailure.nonRetryable(`the database refused the data: ${message}`, FAILURE.dataError);
      throw err;
    }
  };
}

/** The error as text the database can store: no control characters, bounded. */
function describe(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.replace(/[\u0000-\u001f\u007f]/g, ' ').replace(/[\ud800-\udfff]/g, '?').slice(0, 2_000);
}
