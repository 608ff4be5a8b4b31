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
}

/** Records a batch of one game's grants for `date`; returns how many were new. */
export async function recordGrants(run: RunSql, log: { gameId: string; date: string; grants: Grant[] }): Promise<number> {
  const [row] = await run<{ recorded: number }>(sql`
    WITH day AS (
      INSERT INTO grant_log_days (game_id, log_date, first_received_at)
      VALUES (${log.gameId}::text, ${log.date}::date, now() AT TIME ZONE 'UTC')
      ON CONFLICT (game_id, log_date) DO NOTHING
    ), recorded AS (
      INSERT INTO grant_logs (delivery_id, game_id, order_id, granted_at, log_date, received_at)
      SELECT g.delivery_id, ${log.gameId}::text, g.order_id, (g.granted_at AT TIME ZONE 'UTC'), ${log.date}::date, now() AT TIME ZONE 'UTC'
      FROM unnest(${log.grants.map((g) => g.deliveryId)}::text[], ${log.grants.map((g) => g.orderId)}::uuid[],
                  ${log.grants.map((g) => g.grantedAt)}::timestamptz[]) AS g(delivery_id, order_id, granted_at)
      ON CONFLICT (game_id, delivery_id) DO NOTHING
      RETURNING 1
    )
    SELECT count(*)::int AS recorded FROM recorded`);
  return row!.recorded;
}
