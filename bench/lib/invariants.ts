import type { Pool } from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunSql } from '../../infra/db';
import { ledgerViolations } from '../../store/journal';
import type { Sql } from '../../store/sql';
import type { ReferenceGameServer } from '../../testkit/game-server';
import { ORDER_RULES, orderViolations, type OrderRule } from '../../testkit/order-invariants';

/** The store's statements run on a bench's plain pool (checks pass no timestamps, so no Date handling is needed). */
export const runOn = (db: Pool): RunSql => async <T>(query: Sql) => (await db.query(query.text, query.values)).rows as T[];

/** The drills' delivery deadline is the default one: no order of a drill is that old. */
const LEDGER_DEADLINE_MS = 24 * 3_600_000;

export interface Invariant {
  name: string;
  ok: boolean;
  detail: string;
}

export interface DrillCounts {
  orders: number;
  byStatus: Record<string, number>;
  paid: number;
  delivered: number;
  refunded: number;
  grantedByGameServer: number;
  duplicatesSeenByGameServer: number;
  deliveryAttemptsAtGameServer: number;
}

const FINAL_OR_WAITING = ['DELIVERED', 'REFUNDED', 'CLOSED', 'REJECTED', 'MANUAL_REVIEW', 'PENDING_PAYMENT'];

/**
 * Waits until nothing is in motion: no paid order short of DELIVERED/REFUNDED, no order in PAID or
 * DELIVERING, no sandbox notification still to send. Returns false if that did not happen in time.
 */
export async function settle(db: Pool, gameId: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const { moving, unsent } = await inMotion(db, gameId);
    if (moving.length === 0 && unsent === 0) return true;
    await sleep(500);
  }
  return false;
}

/**
 * Waits until the order events' outbox has nothing unpublished (of `gameIds`' orders, or of all);
 * false if it still had after `timeoutMs`.
 */
export async function outboxDrained(db: Pool, timeoutMs: number, gameIds?: string[]): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM order_events WHERE published_at IS NULL AND ($1::text[] IS NULL OR game_id = ANY($1))', [
      gameIds ?? null,
    ]);
    if (rows[0]!.n === '0') return true;
    if (Date.now() > deadline) return false;
    await sleep(500);
  }
}

export interface MovingOrder {
  id: string;
  status: string;
  paymentStatus: string | null;
}

/** What keeps a drill from settling: orders in motion (paid but short of their end) and unsent sandbox notifications. */
export async function inMotion(db: Pool, gameId: string): Promise<{ moving: MovingOrder[]; unsent: number }> {
  const { rows } = await db.query<MovingOrder>(
    `SELECT o.id, o.status, p.status AS "paymentStatus" FROM orders o LEFT JOIN sandbox_payments p ON p.merchant_order_id = o.id::text
      WHERE o.game_id = $1 AND (o.status <> ALL($2::text[])
         OR (p.status IN ('PAID', 'REFUNDED') AND o.status NOT IN ('DELIVERED', 'REFUNDED', 'MANUAL_REVIEW')))`,
    [gameId, FINAL_OR_WAITING],
  );
  const { rows: unsent } = await db.query<{ n: string }>(
    'SELECT count(*) AS n FROM sandbox_notifications WHERE delivered_at IS NULL AND attempts < 15',
  );
  return { moving: rows, unsent: Number(unsent[0]!.n) };
}

/**
 * The money and goods invariants of one drill's game, from the books, the sandbox provider's own
 * books and the game server's own log. `createdOrderIds` are the orders the clients were given.
 */
export async function checkInvariants(
  db: Pool,
  game: { gameId: string; sku: string; initialStock: number },
  gameServer: ReferenceGameServer,
  createdOrderIds: string[],
): Promise<{ counts: DrillCounts; invariants: Invariant[] }> {
  const q = async <T extends object>(sql: string, params: unknown[] = []) => (await db.query<T & Record<string, unknown>>(sql, params)).rows;
  const orders = await q<{ id: string; status: string; amount: number; quantity: number; payment_status: string | null; paid_amount: number | null }>(
    `SELECT o.id, o.status, o.amount, o.quantity, p.status AS payment_status, p.paid_amount
       FROM orders o LEFT JOIN sandbox_payments p ON p.merchant_order_id = o.id::text WHERE o.game_id = $1`,
    [game.gameId],
  );
  const orderIds = new Set(orders.map((o) => o.id));
  const byStatus: Record<string, number> = {};
  for (const o of orders) byStatus[o.status] = (byStatus[o.status] ?? 0) + 1;
  const moneyTaken = (o: (typeof orders)[number]) => o.payment_status === 'PAID' || o.payment_status === 'REFUNDED';

  const invariants: Invariant[] = [];
  const check = (name: string, offenders: string[], okDetail: string) =>
    invariants.push({ name, ok: offenders.length === 0, detail: offenders.length ? `${offenders.length}: ${offenders.slice(0, 5).join('; ')}` : okDetail });

  const paid = orders.filter(moneyTaken);
  const granted = [...gameServer.grants.values()].filter((g) => orderIds.has(g.orderId));
  const delivered = new Set(orders.filter((o) => o.status === 'DELIVERED').map((o) => o.id));
  const grantsPerOrder = new Map<string, number>();
  for (const g of granted) grantsPerOrder.set(g.orderId, (grantsPerOrder.get(g.orderId) ?? 0) + 1);
  // The per-order rules, shared with the model-based tests (testkit/order-invariants.ts).
  const perOrder = orders.flatMap((o) =>
    orderViolations({
      orderId: o.id,
      status: o.status,
      channelMoney: o.payment_status === 'PAID' ? 'KEPT' : o.payment_status === 'REFUNDED' ? 'RETURNED' : 'NONE',
      grantedDeliveries: grantsPerOrder.get(o.id) ?? 0,
    }),
  );
  const offenders = (rule: OrderRule) => perOrder.filter((v) => v.rule === rule).map((v) => v.detail);
  check(ORDER_RULES.paidSettled, offenders('paidSettled'), `${paid.length} paid orders settled`);
  check(ORDER_RULES.channelAgrees, offenders('channelAgrees'), 'channel and books agree');
  check(
    ORDER_RULES.deliveredOnce,
    [
      ...offenders('deliveredOnce'),
      ...[...gameServer.ordersGrantedTwice].filter((id) => orderIds.has(id) && (grantsPerOrder.get(id) ?? 0) < 2).map((id) => `${id} granted under two delivery ids`),
    ],
    `${granted.length} grants, one per order`,
  );
  check(ORDER_RULES.grantsMatchDelivered, offenders('grantsMatchDelivered'), `${delivered.size} delivered, ${grantsPerOrder.size} granted`);

  const orphanMoney = await q<{ id: string; status: string }>(
    `SELECT p.id, p.status FROM sandbox_payments p LEFT JOIN orders o ON o.id::text = p.merchant_order_id
      WHERE o.id IS NULL AND p.status IN ('PAID', 'REFUNDED')`,
  );
  const orphanNotifications = await q<{ notification_id: string }>(
    `SELECT notification_id FROM channel_notifications WHERE result = 'SUCCESS' AND order_id IS NULL`,
  );
  check(
    'no money without an order',
    [...orphanMoney.map((p) => `payment ${p.id} ${p.status}`), ...orphanNotifications.map((n) => `notification ${n.notification_id} unmatched`)],
    'every payment and success notification has its order',
  );
  const missing = createdOrderIds.filter((id) => !orderIds.has(id));
  const perKey = await q<{ n: string }>(`SELECT count(*) AS n FROM orders WHERE game_id = $1 GROUP BY idempotency_key HAVING count(*) > 1`, [game.gameId]);
  check(
    'one order per idempotency key, and every order a client was given exists',
    [...missing.map((id) => `${id} missing`), ...perKey.map((r) => `a key with ${r.n} orders`)],
    `${createdOrderIds.length} orders given to clients`,
  );

  const [item] = await q<{ stock_available: number | null }>('SELECT stock_available FROM items WHERE sku = $1', [game.sku]);
  const reservations = await q<{ status: string; quantity: string }>(
    'SELECT status, sum(quantity) AS quantity FROM stock_reservations WHERE sku = $1 GROUP BY status',
    [game.sku],
  );
  const reserved = (s: string) => Number(reservations.find((r) => r.status === s)?.quantity ?? 0);
  const deliveredQuantity = orders.filter((o) => o.status === 'DELIVERED').reduce((a, o) => a + o.quantity, 0);
  const pendingQuantity = orders.filter((o) => !['DELIVERED', 'REFUNDED', 'CLOSED', 'REJECTED'].includes(o.status)).reduce((a, o) => a + o.quantity, 0);
  const stockLeft = item?.stock_available ?? NaN;
  check(
    'stock: initial = available + reserved + sold; sold = delivered',
    [
      ...(game.initialStock !== stockLeft + reserved('RESERVED') + reserved('COMMITTED')
        ? [`initial ${game.initialStock} ≠ available ${stockLeft} + reserved ${reserved('RESERVED')} + sold ${reserved('COMMITTED')}`]
        : []),
      ...(reserved('COMMITTED') !== deliveredQuantity ? [`sold ${reserved('COMMITTED')} ≠ delivered ${deliveredQuantity}`] : []),
      ...(reserved('RESERVED') !== pendingQuantity ? [`reserved ${reserved('RESERVED')} ≠ open orders ${pendingQuantity}`] : []),
    ],
    `${game.initialStock} = ${stockLeft} + ${reserved('RESERVED')} + ${reserved('COMMITTED')}`,
  );

  // The ledger: every entry balanced, revenue for every delivered order, a reversal for every refund,
  // nothing owed past the delivery deadline (store/journal.ts, the same check the tests run).
  const ledger = await ledgerViolations(runOn(db), { deliveryDeadlineMs: LEDGER_DEADLINE_MS, gameId: game.gameId });
  check('ledger: balanced entries, revenue per delivery, a reversal per refund, nothing owed past the deadline', ledger.map((v) => `${v.rule}: ${v.subject}`), 'the journal agrees with the orders');

  // The channel's books against ours: money kept is the revenue of delivered orders.
  const [money] = await q<{ kept: string; revenue: string; channel_refunds: string; our_refunds: string }>(
    `SELECT
       (SELECT coalesce(sum(p.paid_amount), 0) FROM sandbox_payments p JOIN orders o ON o.id::text = p.merchant_order_id
         WHERE o.game_id = $1 AND p.status = 'PAID') AS kept,
       (SELECT coalesce(sum(amount), 0) FROM orders WHERE game_id = $1 AND status = 'DELIVERED') AS revenue,
       (SELECT coalesce(sum(r.amount), 0) FROM sandbox_refunds r JOIN sandbox_payments p ON p.id = r.payment_id
          JOIN orders o ON o.id::text = p.merchant_order_id WHERE o.game_id = $1) AS channel_refunds,
       (SELECT coalesce(sum(r.amount), 0) FROM refunds r JOIN orders o ON o.id = r.order_id
         WHERE o.game_id = $1 AND r.status = 'SUCCEEDED') AS our_refunds`,
    [game.gameId],
  );
  check(
    'balance: money kept = revenue of delivered orders; refunds agree',
    [
      ...(money!.kept !== money!.revenue ? [`kept ${money!.kept} ≠ revenue ${money!.revenue}`] : []),
      ...(money!.channel_refunds !== money!.our_refunds ? [`channel refunded ${money!.channel_refunds} ≠ our refunds ${money!.our_refunds}`] : []),
    ],
    `kept ${money!.kept} = revenue ${money!.revenue}; refunds ${money!.our_refunds}`,
  );

  return {
    counts: {
      orders: orders.length,
      byStatus,
      paid: paid.length,
      delivered: delivered.size,
      refunded: byStatus.REFUNDED ?? 0,
      grantedByGameServer: granted.length,
      duplicatesSeenByGameServer: gameServer.duplicatesSeen(orderIds),
      deliveryAttemptsAtGameServer: gameServer.attempts.length,
    },
    invariants,
  };
}
