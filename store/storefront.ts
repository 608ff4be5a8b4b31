import type { StorefrontFigures } from '../domain/catalog/storefront';
import type { RunSql } from '../infra/db';
import { userCounters } from './allowances';
import { sql } from './sql';
import { limitedStock } from './stock';

/**
 * The storefront's live figures in one query: the user's counters (limits, ownership, bonus) and
 * the stock left of the game's limited items (the cached items may be a few seconds old; these not).
 */
export async function storefrontFigures(run: RunSql, gameId: string, userId: string): Promise<StorefrontFigures> {
  const rows = await run<{ counter: boolean; key: string; n: number }>(sql`
    SELECT true AS counter, key, used AS n FROM (${userCounters(gameId, userId)}) u
    UNION ALL
    SELECT false, sku, available FROM (${limitedStock(gameId)}) s`);
  const used = new Map<string, number>();
  const stock = new Map<string, number>();
  for (const r of rows) (r.counter ? used : stock).set(r.key, r.n);
  return { used, stock };
}
