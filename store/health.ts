import type { RunSql } from '../infra/db';
import { sql } from './sql';

/** Whether PostgreSQL answers a trivial statement. */
export async function databaseAnswers(run: RunSql): Promise<boolean> {
  return run(sql`SELECT 1`).then(
    () => true,
    () => false,
  );
}
