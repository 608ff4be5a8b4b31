import { NOW_UTC, sql, type Sql } from './sql';

/**
 * Stock of limited items: a reservation when the order opens, given back when it closes or is
 * refunded, a sale when it is delivered. Unlimited items (stock_available NULL) reserve nothing.
 * Each rule is a statement fragment that the order's own statement carries.
 */

/**
 * CTEs `stock_item(limited)` and `reserved(sku)`: takes `quantity` units unless the order is
 * refused already (`refused` is a text parameter, NULL when not). `out_of_stock` tells whether a
 * limited item had too few.
 */
export function reserveStock(sku: string, quantity: number, refused: string | null): Sql {
  return sql`stock_item AS (
      SELECT stock_available IS NOT NULL AS limited FROM items WHERE sku = ${sku}::text
    ), reserved AS (
      UPDATE items SET stock_available = stock_available - ${quantity}::int, updated_at = ${NOW_UTC}
      WHERE sku = ${sku}::text AND ${refused}::text IS NULL AND stock_available >= ${quantity}::int
      RETURNING sku
    )`;
}
export const outOfStock = sql`(coalesce((SELECT limited FROM stock_item), false) AND NOT EXISTS (SELECT 1 FROM reserved))`;
export const stockReserved = sql`EXISTS (SELECT 1 FROM reserved)`;

/** CTE recording the reservation of the order the CTE `created` opened, when stock was reserved. */
export function recordReservation(sku: string, quantity: number): Sql {
  return sql`reservation AS (
      INSERT INTO stock_reservations (order_id, sku, quantity, status, updated_at)
      SELECT created.id, ${sku}::text, ${quantity}::int, 'RESERVED', ${NOW_UTC}
      FROM created WHERE ${stockReserved})`;
}

/** Compensation of the reservation, for an order that moved (CTE `moved`) to CLOSED or REFUNDED. */
export const releaseStock: Sql = sql`released AS (
    UPDATE stock_reservations r SET status = 'RELEASED', updated_at = ${NOW_UTC}
    FROM moved WHERE r.order_id = moved.id AND r.status = 'RESERVED' RETURNING r.sku, r.quantity
  ), restocked AS (
    UPDATE items i SET stock_available = i.stock_available + released.quantity, updated_at = ${NOW_UTC}
    FROM released WHERE i.sku = released.sku)`;

/** The reservation becomes a sale, for an order that moved (CTE `moved`) to DELIVERED. */
export const commitStock: Sql = sql`committed AS (
    UPDATE stock_reservations r SET status = 'COMMITTED', updated_at = ${NOW_UTC}
    FROM moved WHERE r.order_id = moved.id AND r.status = 'RESERVED')`;

/** Rows (sku, available) of a game's limited items. */
export const limitedStock = (gameId: string): Sql =>
  sql`SELECT sku, stock_available AS available FROM items WHERE game_id = ${gameId}::text AND stock_available IS NOT NULL`;
