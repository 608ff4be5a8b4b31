import type { RunSql } from '../infra/db';
import { sql, type Sql } from './sql';

/**
 * A fee at a rate in basis points, rounded half up to the minor unit, in SQL: the same integers as
 * domain/reconciliation/fees.ts `expectedFee`, for every line of a statement at once.
 */
export const feeAtRate = (amount: Sql, rateBasisPoints: number | null): Sql =>
  sql`(((${amount}) * ${rateBasisPoints}::bigint + 5000) / 10000)`;

/** The SQL computation for a list of amounts (to check it agrees with the domain's). */
export async function feesAtRate(run: RunSql, amounts: number[], rateBasisPoints: number): Promise<number[]> {
  const rows = await run<{ fee: string }>(sql`
    SELECT ${feeAtRate(sql`a`, rateBasisPoints)}::text AS fee FROM unnest(${amounts}::bigint[]) WITH ORDINALITY AS t(a, i) ORDER BY i`);
  return rows.map((r) => Number(r.fee));
}
