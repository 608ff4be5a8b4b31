import type { RunSql } from '../infra/db';
import { sql } from './sql';

/**
 * The games' own grant logs (three-way reconciliation): what a game server says it granted, once per
 * game and deliveryId whatever it resends (another game's entry under the same deliveryId is its own),
 * and the days each game reported (only those days are checked for deliveries without a grant).
 */

export interface Grant {
  deliveryId: string;
  orderId: string;
  grantedAt: string;
  /** How much of the grant the player has used (milliunits, 0-100000); the latest report wins. */
  consumptionPercentage?: number;
}

/**
 * Records a batch of one game's grants for `date`; returns how many were new. A grant sent before stays as
 * first sent, except its consumption percentage: a line that reports one replaces the earlier figure.
 */
export async function recordGrants(run: RunSql, log: { gameId: string; date: string; grants: Grant[] }): Promise<number> {
  const grants = oneLinePerDelivery(log.grants);
  const [row] = await run<{ recorded: number }>(sql`
    WITH day AS (
      INSERT INTO grant_log_days (game_id, log_date, first_received_at)
      VALUES (${log.gameId}::text, ${log.date}::date, now() AT TIME ZONE 'UTC')
      ON CONFLICT (game_id, log_date) DO NOTHING
    ), recorded AS (
      INSERT INTO grant_logs (delivery_id, game_id, order_id, granted_at, log_date, received_at, consumption_percentage, consumption_reported_at)
      SELECT g.delivery_id, ${log.gameId}::text, g.order_id, (g.granted_at AT TIME ZONE 'UTC'), ${log.date}::date, now() AT TIME ZONE 'UTC',
        g.consumption_percentage, CASE WHEN g.consumption_percentage IS NOT NULL THEN now() AT TIME ZONE 'UTC' END
      FROM unnest(${grants.map((g) => g.deliveryId)}::text[], ${grants.map((g) => g.orderId)}::uuid[],
                  ${grants.map((g) => g.grantedAt)}::timestamptz[], ${grants.map((g) => g.consumptionPercentage ?? null)}::int[])
        AS g(delivery_id, order_id, granted_at, consumption_percentage)
      ON CONFLICT (game_id, delivery_id) DO UPDATE
        SET consumption_percentage = EXCLUDED.consumption_percentage, consumption_reported_at = EXCLUDED.consumption_reported_at
        WHERE EXCLUDED.consumption_percentage IS NOT NULL
      -- xmax = 0: a row this statement inserted (not an earlier grant whose percentage it updated).
      RETURNING (xmax = 0) AS inserted
    )
    SELECT count(*) FILTER (WHERE inserted)::int AS recorded FROM recorded`);
  return row!.recorded;
}

/**
 * One line per deliveryId (one statement may not insert and update the same row): the first line's grant,
 * the batch's last reported percentage.
 */
function oneLinePerDelivery(grants: Grant[]): Grant[] {
  const byDelivery = new Map<string, Grant>();
  for (const g of grants) {
    const first = byDelivery.get(g.deliveryId);
    if (!first) byDelivery.set(g.deliveryId, g);
    else if (g.consumptionPercentage !== undefined) byDelivery.set(g.deliveryId, { ...first, consumptionPercentage: g.consumptionPercentage });
  }
  return [...byDelivery.values()];
}
