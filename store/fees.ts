import type { Money } from '../domain/money';
import type { FeeTerms } from '../domain/routing/fees';
import type { RunSql } from '../infra/db';
import { sql, type Sql } from './sql';

/**
 * domain/routing/fees.ts `channelFee` in SQL, for every line of a statement at once: the percentage
 * rounded half up to the minor unit, plus the fixed fee when it is in the amount's currency. The
 * terms are SQL expressions (columns of an account's terms, or constants).
 */
export interface FeeTermsSql {
  rateBps: Sql;
  fixedCurrency: Sql;
  fixedValue: Sql;
}

export const feeOf = (amount: Sql, currency: Sql, terms: FeeTermsSql): Sql =>
  sql`((((${amount}) * (${terms.rateBps})::bigint + 5000) / 10000)
    + CASE WHEN (${terms.fixedCurrency}) = (${currency}) THEN (${terms.fixedValue})::bigint ELSE 0 END)`;

/** Terms known when the statement is built (the sandbox provider's own price). */
export const constantTerms = (terms: FeeTerms): FeeTermsSql => ({
  rateBps: sql`${terms.feeRateBps}::int`,
  fixedCurrency: sql`${terms.fixedFee?.currency ?? null}::text`,
  fixedValue: sql`${terms.fixedFee?.value ?? 0}::bigint`,
});

/** The SQL computation for a list of amounts (to check it agrees with the domain's). */
export async function feesOf(run: RunSql, amounts: Money[], terms: FeeTerms): Promise<number[]> {
  const rows = await run<{ fee: string }>(sql`
    SELECT ${feeOf(sql`a`, sql`c`, constantTerms(terms))}::text AS fee
    FROM unnest(${amounts.map((m) => m.value)}::bigint[], ${amounts.map((m) => m.currency)}::text[]) WITH ORDINALITY AS t(a, c, i) ORDER BY i`);
  return rows.map((r) => Number(r.fee));
}
