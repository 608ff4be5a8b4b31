import type { Db, RunSql } from '../infra/db';
import { NOW_UTC, sql, type Sql } from './sql';

/** Activities failing right now, by workflow: the record behind GET /v1/ops/stuck. */

/** One more failed attempt; the first one opens the record. */
export async function recordActivityFailure(run: RunSql, f: { workflowId: string; activityType: string; attempt: number; error: string }) {
  await run(sql`
    INSERT INTO activity_failures (workflow_id, activity_type, attempts, last_error, first_failed_at, last_failed_at)
    VALUES (${f.workflowId}::text, ${f.activityType}::text, ${f.attempt}::int, ${f.error}::text, ${NOW_UTC}, ${NOW_UTC})
    ON CONFLICT (workflow_id, activity_type) DO UPDATE
      SET attempts = EXCLUDED.attempts, last_error = EXCLUDED.last_error, last_failed_at = EXCLUDED.last_failed_at`);
}

/** The activity succeeded (or gave up for good): it is no longer failing. */
export async function clearActivityFailure(run: RunSql, workflowId: string, activityType: string) {
  await run(sql`DELETE FROM activity_failures WHERE workflow_id = ${workflowId}::text AND activity_type = ${activityType}::text`);
}

/**
 * The same, as a fragment of the statement that records the activity's success (an operator's retry
 * starts the activity afresh, at attempt 1, possibly on another worker: its success still clears).
 */
export const activityRecovered = (workflowId: string, activityType: string): Sql => sql`recovered AS (
    DELETE FROM activity_failures WHERE workflow_id = ${workflowId}::text AND activity_type = ${activityType}::text)`;

/** Activities failing since before `since`, longest first. */
export function failingSince(db: Db, since: Date, limit: number) {
  return db.activityFailure.findMany({ where: { firstFailedAt: { lte: since } }, orderBy: { firstFailedAt: 'asc' }, take: limit });
}
