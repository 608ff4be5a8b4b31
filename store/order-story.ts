import type { Database } from '../infra/db';
import { orderEntries } from './journal';
import { orderOf } from './orders';
import { riskDecisionOf } from './risk';
import { isoOf, sql } from './sql';

/**
 * Everything recorded about one order, gathered for the ops console's order page: the order with
 * its status history, channel attempts, notifications, payment results, delivery, refund,
 * revocation, operators' actions, ledger entries, reconciliation differences and risk's decision. One round trip per
 * table, all by indexed order id.
 */
export async function orderFacts({ db, sql: run }: Database, orderId: string) {
  const row = await db.order.findUnique({
    where: { id: orderId },
    include: {
      history: { orderBy: [{ at: 'asc' }, { id: 'asc' }] },
      channelAttempts: { orderBy: { attempt: 'asc' } },
      paymentAttempts: { orderBy: { id: 'asc' } },
      delivery: true,
      refund: true,
      revocation: true,
    },
  });
  if (!row) return null;
  const { history, channelAttempts, paymentAttempts, delivery, refund, revocation, ...order } = row;
  const [notifications, opsActions, entries, differences, risk] = await Promise.all([
    db.channelNotification.findMany({
      where: { orderId },
      orderBy: { id: 'asc' },
      select: { channel: true, notificationId: true, channelPaymentId: true, result: true, amount: true, currency: true, receivedCount: true, firstReceivedAt: true },
    }),
    db.opsAction.findMany({ where: { orderId }, orderBy: { id: 'asc' } }),
    orderEntries(run, orderId),
    run<{ id: string; runId: string; kind: string; resolution: string; channelTradeNo: string | null; currency: string | null; ours: string | null; theirs: string | null; createdAt: string }>(sql`
      SELECT d.id::text, d.run_id::text AS "runId", d.kind, d.resolution, d.channel_trade_no AS "channelTradeNo",
        d.currency, d.ours::text, d.theirs::text, ${isoOf(sql`r.created_at`)} AS "createdAt"
      FROM recon_differences d JOIN recon_runs r ON r.id = d.run_id WHERE d.order_id = ${orderId}::uuid ORDER BY d.id`),
    riskDecisionOf(db, orderId),
  ]);
  return {
    order: { ...orderOf(order), routing: order.routing },
    history,
    channelAttempts,
    paymentAttempts,
    notifications,
    delivery,
    refund,
    revocation,
    opsActions,
    entries,
    differences,
    risk,
  };
}

export type OrderFacts = NonNullable<Awaited<ReturnType<typeof orderFacts>>>;
