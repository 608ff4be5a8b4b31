import type { Order as OrderRow, Prisma } from '../generated/prisma/client';
import type { Money } from '../domain/money';
import { ORDER_STATUSES, REASONS, canTransition, hasPassed, type OrderStatus } from '../domain/orders/status';
import type { Db, RunSql } from '../infra/db';
import { sealOrderPii, type PiiKeyring } from '../infra/pii';
import type { PurchaseInput } from '../workflows/contract';
import { NOW_UTC, isUniqueViolation, join, raw, sql, utc, type Sql } from './sql';
import { EVENT_SOURCE_COLUMNS, recordOrderEvent } from './outbox';
import { outOfStock, recordReservation, reserveStock } from './stock';
import { allowanceRefused, bonusClaimed, recordAllowances, takeAllowances } from './allowances';
import { releaseMinorHoldOfRejected } from './minor-caps';
import { isMinor } from '../domain/risk/minor-caps';

/** The order aggregate: `orders` and its `order_history`; stock, delivery and refund effects come as fragments. */

/** An order as its workflow opens it: the purchase, when it expires, and the risk check's refusal if any. */
export type NewOrder = Omit<PurchaseInput, 'timing' | 'itemName' | 'requestId' | 'confirmsDelivery' | 'clientIp' | 'deviceId'> & {
  expiresAt: string;
  /** Set when the risk check denied the order: it is stored as REJECTED. */
  rejection?: string;
  /** What the rejection was about (a purchase limit's figures), kept with the order. */
  rejectionDetails?: Record<string, unknown>;
};

export interface OpenedOrderRow {
  status: 'PENDING_PAYMENT' | 'REJECTED';
  status_reason: string | null;
  /** False when an earlier attempt had opened it already. */
  created: boolean;
  /** The key of the allowance that refused it (the caller rolls the statement back, see store/allowances.ts). */
  allowance_refused?: string | null;
}

/** The transient reason of an order refused by an allowance: its transaction is rolled back, never stored. */
const ALLOWANCE_REFUSED = 'ALLOWANCE_REFUSED';

/** Whether the order's statements write its events to the outbox (EVENTS_BROKER is not `none`). */
export interface OrderWrites {
  events?: boolean;
}

/**
 * Persists the order with its first history row, reserving limited stock, in one statement (all of
 * it or nothing), with its first event when `events`. Idempotent by order id: a retry finds the
 * order it created.
 */
export async function openOrder(run: RunSql, o: NewOrder, { events = false }: OrderWrites = {}): Promise<OpenedOrderRow> {
  const refused = o.rejection ?? null;
  const takes = takeAllowances(o, o.allowances, refused);
  const bonus = bonusClaimed(o.allowances);
  const bonusGrants = JSON.stringify(o.allowances?.bonusGrants ?? []);
  try {
    const [row] = await run<Omit<OpenedOrderRow, 'created'>>(sql`
      WITH ${reserveStock(o.sku, o.quantity, refused)},${takes.length ? sql` ${join(takes, ', ')},` : sql``}
      decision AS (
        -- A reason to refuse means a rejected order; none, an order awaiting payment.
        SELECT reason, refused_key, CASE WHEN reason IS NULL THEN 'PENDING_PAYMENT' ELSE 'REJECTED' END AS status
        FROM (SELECT coalesce(${refused}::text, CASE WHEN k IS NOT NULL THEN ${ALLOWANCE_REFUSED}::text END,
          CASE WHEN ${outOfStock} THEN ${REASONS.outOfStock}::text END) AS reason, k AS refused_key
          FROM (SELECT ${allowanceRefused(o.allowances)} AS k) a) r
      ), created AS (
        INSERT INTO orders (id, game_id, user_id, sku, quantity, grants, region, currency, amount, channel,
          status, status_reason, idempotency_key, request_hash, client_ip_sealed, client_ip_digest, device_id_sealed,
          device_id_digest, platform, store_product_id, consumption_data_consent,
          routing, expires_at, updated_at, event_sequence, bonus_grants, status_details)
        SELECT ${o.orderId}::uuid, ${o.gameId}::text, ${o.userId}::text, ${o.sku}::text,
          -- A claimed bonus follows the item's grants (delivered and revoked with them).
          ${o.quantity}::int, ${JSON.stringify(o.grants)}::jsonb || CASE WHEN ${bonus} THEN ${bonusGrants}::jsonb ELSE '[]'::jsonb END, ${o.region}::text,
          ${o.amount.currency}::text, ${o.amount.value}::int, ${o.channel}::text,
          d.status, d.reason, ${o.idempotencyKey}::text, ${o.requestHash}::text,
          ${o.clientIpSealed ?? null}::text, ${o.clientIpDigest ?? null}::text, ${o.deviceIdSealed ?? null}::text,
          ${o.deviceIdDigest ?? null}::text, ${o.platform ?? null}::text,
          ${o.storeProductId ?? null}::text, ${o.consumptionDataConsent ?? null}::boolean, ${o.routing ? JSON.stringify(o.routing) : null}::jsonb, ${utc(o.expiresAt)}, ${NOW_UTC}, 1,
          CASE WHEN ${bonus} THEN ${bonusGrants}::jsonb END, ${o.rejectionDetails ? JSON.stringify(o.rejectionDetails) : null}::jsonb
        FROM decision d
        RETURNING ${EVENT_SOURCE_COLUMNS}
      ), history AS (
        INSERT INTO order_history (order_id, status, reason) SELECT id, status, status_reason FROM created
      ), ${recordReservation(o.sku, o.quantity)}${recordAllowances(o, o.allowances)}${events ? sql`, ${recordOrderEvent('created')}` : sql``}${
        // A minor's hold goes back when the order is rejected here after risk let it through.
        isMinor(o.ageBand) ? sql`, ${releaseMinorHoldOfRejected(o.orderId)}` : sql``}
      SELECT status, status_reason, (SELECT refused_key FROM decision) AS allowance_refused FROM created`);
    return { ...row!, created: true };
  } catch (err) {
    // This order exists: an earlier attempt created it (the statement changed nothing).
    if (!isUniqueViolation(err)) throw err;
    return (await openedBefore(run, o.orderId))!;
  }
}

/** The order an earlier attempt opened, or undefined. */
export async function openedBefore(run: RunSql, orderId: string): Promise<OpenedOrderRow | undefined> {
  const [row] = await run<Omit<OpenedOrderRow, 'created'>>(sql`SELECT status, status_reason FROM orders WHERE id = ${orderId}::uuid`);
  return row && { ...row, created: false };
}

/** Columns a transition may set besides the status (names are fixed here, values are parameters). */
export interface OrderPatch {
  paid?: { paidAt: string; channelTxnId?: string; amount?: number; currency?: string };
  /** Stamps this column with the time of the transition. */
  stamp?: 'delivered_at' | 'closed_at' | 'refunded_at';
}

export type TransitionResult =
  | { outcome: 'MOVED'; gameId: string; channel: string }
  /** The step ran before: the order is in `to` or already past it. */
  | { outcome: 'DONE_BEFORE' }
  | { outcome: 'ILLEGAL'; current: OrderStatus | undefined };

/**
 * Moves an order to `to` and records it in its history, with the effects other modules own
 * (statement fragments: CTEs that may read the CTE `moved(id, game_id, channel, …)`) and its event
 * when `events`, in one SQL statement: atomic without a transaction, one round trip on the hot path.
 */
export async function transitionOrder(
  run: RunSql,
  orderId: string,
  to: OrderStatus,
  { reason, patch = {}, onlyFrom, events = false }: { reason?: string; patch?: OrderPatch; onlyFrom?: readonly OrderStatus[] } & OrderWrites = {},
  effects: Sql[] = [],
): Promise<TransitionResult> {
  // `onlyFrom` narrows the state machine for one step (the purchase's own refund never undoes a delivery).
  const allowedFrom = ORDER_STATUSES.filter((from) => canTransition(from, to) && (!onlyFrom || onlyFrom.includes(from)));
  // The change counter is each event's `sequence`; it counts every change, with events on or off.
  const sets = [
    sql`status = ${to}::text`,
    sql`status_reason = ${reason ?? null}::text`,
    sql`updated_at = ${NOW_UTC}`,
    sql`event_sequence = event_sequence + 1`,
  ];
  if (patch.paid) {
    sets.push(
      sql`paid_at = ${utc(patch.paid.paidAt)}`,
      sql`channel_txn_id = ${patch.paid.channelTxnId ?? null}::text`,
      sql`paid_amount = ${patch.paid.amount ?? null}::int`,
      sql`paid_currency = ${patch.paid.currency ?? null}::text`,
    );
  }
  if (patch.stamp) sets.push(sql`${raw(patch.stamp)} = ${NOW_UTC}`);

  const fragments = events ? [...effects, recordOrderEvent('moved')] : effects;
  // The effects read the order's books with the statement's snapshot: a change to the order committed
  // while this statement waited for its row (a partial refund) fails the change-counter check, and
  // the statement runs again on fresh books.
  for (let attempt = 0; ; attempt++) {
    const moved = await run<{ game_id: string; channel: string }>(sql`
      WITH moved AS (
        UPDATE orders SET ${join(sets, ', ')}
        WHERE id = ${orderId}::uuid AND status = ANY(${allowedFrom}::text[])
          AND event_sequence = (SELECT event_sequence FROM orders WHERE id = ${orderId}::uuid)
        RETURNING ${EVENT_SOURCE_COLUMNS}
      ), history AS (
        INSERT INTO order_history (order_id, status, reason) SELECT id, ${to}::text, ${reason ?? null}::text FROM moved
        ON CONFLICT (order_id, status) DO NOTHING
      )${fragments.length ? sql`, ${join(fragments, ', ')}` : sql``}
      SELECT game_id, channel FROM moved`);
    if (moved[0]) return { outcome: 'MOVED', gameId: moved[0].game_id, channel: moved[0].channel };

    // Read after the statement: a concurrent attempt may have moved it in the meantime.
    const [current] = await run<{ status: OrderStatus }>(sql`SELECT status FROM orders WHERE id = ${orderId}::uuid`);
    if (current && (current.status === to || hasPassed(to, current.status))) return { outcome: 'DONE_BEFORE' };
    if (!current || !allowedFrom.includes(current.status) || attempt >= MAX_STALE_RUNS) return { outcome: 'ILLEGAL', current: current?.status };
  }
}

/** How often a transition runs again after the order changed under it before it gives up (the caller retries). */
const MAX_STALE_RUNS = 5;

/** Records where the channel payment of an order is, once the channel opened it. */
export async function setChannelPayment(run: RunSql, orderId: string, channelPaymentId: string): Promise<void> {
  await run(sql`UPDATE orders SET channel_payment_id = ${channelPaymentId}::text, updated_at = ${NOW_UTC}
    WHERE id = ${orderId}::uuid`);
}

// ---- Reads (cold paths: Prisma's typed client) -------------------------------------------------

/** An order as activities and routes read it: its money as Money, never as loose columns. */
export type Order = Omit<OrderRow, 'amount' | 'currency' | 'paidAmount' | 'paidCurrency'> & {
  /** What the order asks. */
  amount: Money;
  /** What the channel reported paid, once a payment result came (it may differ: MANUAL_REVIEW). */
  paid?: Money;
};

/** The one mapper from an order's row to an Order. */
export function orderOf({ amount, currency, paidAmount, paidCurrency, ...row }: OrderRow): Order {
  return {
    ...row,
    amount: { currency, value: amount },
    ...(paidAmount !== null && paidCurrency !== null && { paid: { currency: paidCurrency, value: paidAmount } }),
  };
}

export function orderStatusOf(db: Db, orderId: string) {
  return db.order.findUniqueOrThrow({ where: { id: orderId }, select: { status: true, channel: true } });
}

export async function readOrder(db: Db, orderId: string): Promise<Order> {
  return orderOf(await db.order.findUniqueOrThrow({ where: { id: orderId } }));
}

export function channelPaymentOf(db: Db, orderId: string) {
  return db.order.findUniqueOrThrow({ where: { id: orderId }, select: { channelPaymentId: true } });
}

/** An order as a game may see it (only its own), or null. */
export async function findOrderOfGame(db: Db, gameId: string, orderId: string) {
  const order = await db.order.findUnique({ where: { id: orderId }, select: { id: true, gameId: true, status: true } });
  return order && order.gameId === gameId ? order : null;
}

export async function findOrder(db: Db, orderId: string): Promise<Order | null> {
  const row = await db.order.findUnique({ where: { id: orderId } });
  return row && orderOf(row);
}

export async function orderWithHistory(db: Db, orderId: string) {
  const { history, ...row } = await db.order.findUniqueOrThrow({
    where: { id: orderId },
    include: { history: { orderBy: [{ at: 'asc' }, { id: 'asc' }] } },
  });
  return { ...orderOf(row), history };
}

/**
 * The order a channel event names: by our order id (the merchant order number), else by the channel's
 * payment id, else by its transaction number — always within that channel account.
 */
export async function orderForChannelEvent(
  db: Db,
  channel: string,
  ref: { merchantOrderId?: string; channelPaymentId?: string; channelTradeNo?: string },
) {
  const uuid = ref.merchantOrderId && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(ref.merchantOrderId);
  const where = uuid
    ? { id: ref.merchantOrderId!.toLowerCase() }
    : ref.channelPaymentId
      ? { channelPaymentId: ref.channelPaymentId }
      : ref.channelTradeNo
        ? { channel, channelTxnId: ref.channelTradeNo }
        : undefined;
  if (!where) return null;
  const order = await db.order.findFirst({ where });
  return order && order.channel === channel ? orderOf(order) : null;
}

/** Orders for operations, least recently changed first. */
export async function listOrders(
  db: Db,
  filter: { status?: OrderStatus; gameId?: string; unchangedSince?: Date; limit: number },
) {
  const rows = await db.order.findMany({
    where: {
      status: filter.status,
      gameId: filter.gameId,
      ...(filter.unchangedSince ? { updatedAt: { lt: filter.unchangedSince } } : {}),
    },
    orderBy: { updatedAt: 'asc' },
    take: filter.limit,
  });
  return rows.map(orderOf);
}

export interface OrderSearch {
  /** An order id, user id, channel payment id or trade number. */
  q?: string;
  status?: OrderStatus;
  gameId?: string;
  userId?: string;
  channel?: string;
  from?: Date;
  to?: Date;
  /** Keyset: the (createdAt, id) of the last order of the previous page. */
  after?: { createdAt: Date; id: string };
  limit: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Orders for the console's search, newest first, keyset paged. `q` is an order id, or else a user id, a
 * channel payment id or a trade number: the user's orders and the payment's are asked apart and merged
 * (one OR over the three would read every order of the user before sorting; apart, each walks its
 * own index newest first and stops at the page).
 */
export async function searchOrders(db: Db, f: OrderSearch) {
  const q = f.q;
  if (q === undefined || UUID.test(q)) return searchPage(db, f, q === undefined ? {} : { id: q.toLowerCase() });
  const [ofUser, ofPayment] = await Promise.all([
    searchPage(db, f, { userId: q }),
    searchPage(db, f, { OR: [{ channelPaymentId: q }, { channelTxnId: q }] }),
  ]);
  const byId = new Map([...ofUser, ...ofPayment].map((o) => [o.id, o]));
  return [...byId.values()].sort(newestFirst).slice(0, f.limit);
}

/** Newest first, ties by id, descending: the search's order and its keyset. */
const newestFirst = (a: Order, b: Order) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/** One page of the search's filters and `named`, newest first. */
async function searchPage(db: Db, f: OrderSearch, named: Prisma.OrderWhereInput) {
  const createdAt = { ...(f.from && { gte: f.from }), ...(f.to && { lt: f.to }), ...(f.after && { lte: f.after.createdAt }) };
  const rows = await db.order.findMany({
    where: {
      status: f.status,
      gameId: f.gameId,
      userId: f.userId,
      channel: f.channel,
      // `lte` bounds the index scan; the OR only drops the previous page's last instant's ids.
      ...((f.from || f.to || f.after) && { createdAt }),
      AND: [named, ...(f.after ? [{ OR: [{ createdAt: { lt: f.after.createdAt } }, { createdAt: f.after.createdAt, id: { lt: f.after.id } }] }] : [])],
    },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    take: f.limit,
  });
  return rows.map(orderOf);
}

/**
 * Seals the client IPs and device ids of orders written before personal data was sealed, and clears
 * their plaintext (`npm run seal-order-pii`). Idempotent and safe beside running traffic: a row is
 * changed only if it still holds what was read. Returns how many rows were sealed.
 */
export async function sealLegacyOrderPii(run: RunSql, keyring: PiiKeyring, batchSize = 500): Promise<number> {
  let sealed = 0;
  for (;;) {
    const rows = await run<{ id: string; client_ip: string | null; device_id: string | null }>(sql`
      SELECT id, client_ip, device_id FROM orders WHERE client_ip IS NOT NULL OR device_id IS NOT NULL LIMIT ${batchSize}`);
    if (rows.length === 0) return sealed;
    const values = rows.map((r) => {
      const s = sealOrderPii(keyring, { clientIp: r.client_ip ?? undefined, deviceId: r.device_id ?? undefined });
      return sql`(${r.id}::uuid, ${r.client_ip}::text, ${r.device_id}::text, ${s.clientIpSealed ?? null}::text,
        ${s.clientIpDigest ?? null}::text, ${s.deviceIdSealed ?? null}::text, ${s.deviceIdDigest ?? null}::text)`;
    });
    await run(sql`
      UPDATE orders o SET client_ip = NULL, device_id = NULL,
        client_ip_sealed = coalesce(v.ip_sealed, o.client_ip_sealed), client_ip_digest = coalesce(v.ip_digest, o.client_ip_digest),
        device_id_sealed = coalesce(v.device_sealed, o.device_id_sealed), device_id_digest = coalesce(v.device_digest, o.device_id_digest)
      FROM (VALUES ${join(values)}) AS v(id, ip, device, ip_sealed, ip_digest, device_sealed, device_digest)
      WHERE o.id = v.id AND o.client_ip IS NOT DISTINCT FROM v.ip AND o.device_id IS NOT DISTINCT FROM v.device`);
    sealed += rows.length;
  }
}
