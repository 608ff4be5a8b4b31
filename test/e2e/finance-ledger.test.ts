import { randomUUID } from 'node:crypto';
import { purchaseWorkflowId } from '../../domain/ids';
import { addDays, dayOf, startOfDay } from '../../domain/reconciliation/days';
import { purchaseTiming } from '../../infra/config';
import { PurchasesClient } from '../../infra/temporal';
import { takeChannelEvent } from '../../notifications/intake';
import { journalGoodsDelivered, ledgerViolations, orderEntries, orderHoldings, recordPartialRefund } from '../../store/journal';
import { transitionOrder } from '../../store/orders';
import { sql } from '../../store/sql';
import { Harness, sleep, type TestGame } from '../support/harness';

/**
 * The ledger through the order's life: every flow writes its balanced entries in the statement that
 * moves the order, and the invariants hold after each (balanced per currency, revenue for every
 * delivered order, a reversal for every refund, nothing owed past the delivery deadline).
 */
let h: Harness;
let game: TestGame;
let sku: string;

let defaults: Pick<Harness['config'], 'DELIVERY_DEADLINE_MS' | 'PAYMENT_TIMEOUT_MS' | 'PAYMENT_QUERY_AFTER_MS'>;
beforeAll(async () => {
  ({ h, game, sku } = await Harness.startWithGame());
  const { DELIVERY_DEADLINE_MS, PAYMENT_TIMEOUT_MS, PAYMENT_QUERY_AFTER_MS } = h.config;
  defaults = { DELIVERY_DEADLINE_MS, PAYMENT_TIMEOUT_MS, PAYMENT_QUERY_AFTER_MS };
});
afterEach(() => {
  h.gameServer.mode = 'ok';
  Object.assign(h.config, defaults);
});
afterAll(() => h?.close());

async function placeOrder() {
  const res = await h.createOrder(game, { userId: `user-${randomUUID().slice(0, 8)}`, sku, region: 'CN' });
  expect(res.status).toBe(201);
  return res.body as { orderId: string; payment: { channelPaymentId: string } };
}

/** Each entry of the order as `KIND debit-account>credit-account amount`. */
async function entries(orderId: string): Promise<string[]> {
  return (await orderEntries(h.sql, orderId)).map((e) => {
    const debit = e.postings.find((p) => p.amount > 0)!;
    const credit = e.postings.find((p) => p.amount < 0)!;
    const short = (account: string) => account.replace(`:${game.gameId}`, '').replace(':sandbox', '');
    return `${e.kind} ${short(debit.account)}>${short(credit.account)} ${e.amount}`;
  });
}

async function invariantsHold() {
  expect(await ledgerViolations(h.sql, { deliveryDeadlineMs: h.config.DELIVERY_DEADLINE_MS, gameId: game.gameId })).toEqual([]);
}

const operator = { 'X-Operator': 'alice@studio.example' };

describe('the ledger', () => {
  it('records a payment as owed goods, and the delivery as revenue', async () => {
    const { orderId, payment } = await placeOrder();
    await h.pay(payment.channelPaymentId, { result: 'SUCCESS', notifyTimes: 3 });
    await h.waitForStatus(orderId, 'DELIVERED');
    await sleep(300); // the duplicates land: they book nothing
    expect(await entries(orderId)).toEqual([
      'PAYMENT_CAPTURED channel_clearing>deferred_revenue 600',
      'GOODS_DELIVERED deferred_revenue>revenue 600',
    ]);
    await invariantsHold();
  });

  it('reverses owed goods when the delivery deadline passes and the money goes back', async () => {
    h.config.DELIVERY_DEADLINE_MS = 2_000;
    h.gameServer.mode = 'fail';
    const { orderId, payment } = await placeOrder();
    await h.pay(payment.channelPaymentId);
    await h.waitForStatus(orderId, 'REFUNDED', 20_000);
    expect(await entries(orderId)).toEqual([
      'PAYMENT_CAPTURED channel_clearing>deferred_revenue 600',
      'REFUND deferred_revenue>channel_clearing 600',
    ]);
    await invariantsHold();
  });

  it('holds a payment of another amount in suspense, then refunds or releases it as the operator decides', async () => {
    const refunded = await placeOrder();
    await h.pay(refunded.payment.channelPaymentId, { result: 'SUCCESS', paidAmount: 500 });
    await h.waitForStatus(refunded.orderId, 'MANUAL_REVIEW');
    expect(await entries(refunded.orderId)).toEqual(['PAYMENT_HELD channel_clearing>suspense 500']);
    const refund = { action: 'REFUND', reason: 'paid 5.00 of 6.00' };
    expect((await h.http.admin('POST', `/v1/ops/orders/${refunded.orderId}/resolve`, refund, undefined, operator)).status).toBe(202);
    await h.waitForStatus(refunded.orderId, 'REFUNDED');
    expect(await entries(refunded.orderId)).toEqual([
      'PAYMENT_HELD channel_clearing>suspense 500',
      'REFUND suspense>channel_clearing 500',
    ]);

    const delivered = await placeOrder();
    await h.pay(delivered.payment.channelPaymentId, { result: 'SUCCESS', paidAmount: 700 });
    await h.waitForStatus(delivered.orderId, 'MANUAL_REVIEW');
    const deliver = { action: 'DELIVER', reason: 'overpaid, player asked to keep it' };
    expect((await h.http.admin('POST', `/v1/ops/orders/${delivered.orderId}/resolve`, deliver, undefined, operator)).status).toBe(202);
    await h.waitForStatus(delivered.orderId, 'DELIVERED');
    expect(await entries(delivered.orderId)).toEqual([
      'PAYMENT_HELD channel_clearing>suspense 700',
      'REVIEW_RELEASED suspense>deferred_revenue 700',
      'GOODS_DELIVERED deferred_revenue>revenue 700',
    ]);
    await invariantsHold();
  });

  it('books a payment that arrives after the order closed as received, and its refund', async () => {
    h.config.PAYMENT_TIMEOUT_MS = 1_000;
    h.config.PAYMENT_QUERY_AFTER_MS = 0; // the channel is not asked before the close (it would find the payment)
    const { orderId, payment } = await placeOrder();
    await sleep(400);
    await h.pay(payment.channelPaymentId, { result: 'SUCCESS', notifyDelayMs: 3_000 });
    await expect(h.waitForWorkflowEnd(purchaseWorkflowId(orderId))).resolves.toBe('CLOSED');
    await h.waitForStatus(orderId, 'REFUNDED');
    expect((await entries(orderId)).sort()).toEqual(
      ['LATE_PAYMENT_RECEIVED channel_clearing>suspense 600', 'REFUND suspense>channel_clearing 600'].sort(),
    );
    await invariantsHold();
  });

  it('takes a chargeback or a channel refund after delivery out of the game\'s revenue, once', async () => {
    const purchases = new PurchasesClient(h.client, h.config.TEMPORAL_TASK_QUEUE, 10_000);
    const reversed: Record<string, string> = {};
    for (const cause of ['CHARGEBACK', 'CHANNEL_REFUND'] as const) {
      const { orderId, payment } = await placeOrder();
      await h.pay(payment.channelPaymentId);
      await h.waitForStatus(orderId, 'DELIVERED');
      await h.waitForWorkflowEnd(purchaseWorkflowId(orderId));
      const reversal = { cause, dedupeKey: `dispute-${orderId}`, amount: { currency: 'CNY', value: 600 }, revoke: false };
      await purchases.reverse(orderId, reversal, purchaseTiming(h.config));
      await purchases.reverse(orderId, reversal, purchaseTiming(h.config));
      await h.waitForStatus(orderId, cause === 'CHARGEBACK' ? 'CHARGED_BACK' : 'REFUNDED');
      reversed[cause] = orderId;
    }
    expect(await entries(reversed.CHARGEBACK!)).toEqual([
      'PAYMENT_CAPTURED channel_clearing>deferred_revenue 600',
      'GOODS_DELIVERED deferred_revenue>revenue 600',
      'CHARGEBACK chargebacks>channel_clearing 600',
    ]);
    expect(await entries(reversed.CHANNEL_REFUND!)).toEqual([
      'PAYMENT_CAPTURED channel_clearing>deferred_revenue 600',
      'GOODS_DELIVERED deferred_revenue>revenue 600',
      'CHANNEL_REFUND refunds>channel_clearing 600',
    ]);
    await invariantsHold();
  });

  it('answers the trial balance (debits equal credits) and pages an account', async () => {
    const trial = await h.admin('GET', '/v1/finance/ledger/trial-balance?currency=CNY');
    expect(trial.status).toBe(200);
    const cny = trial.body.totals.find((t: { currency: string }) => t.currency === 'CNY');
    expect(cny.debits).toBe(cny.credits);
    expect(cny.debits).toBeGreaterThan(0);
    const revenue = trial.body.accounts.find((a: { account: string }) => a.account === `revenue:${game.gameId}`);
    // Delivered: 600 (first test) + 700 (released) + 600 + 600 (reversed later, from contra accounts).
    expect(revenue).toMatchObject({ debits: 0, credits: 2500, balance: -2500 });

    const first = await h.admin('GET', `/v1/finance/ledger/accounts/revenue:${game.gameId}/entries?limit=2`);
    expect(first.body.entries).toHaveLength(2);
    expect(first.body.entries.every((e: { kind: string; amount: number }) => e.kind === 'GOODS_DELIVERED' && e.amount < 0)).toBe(true);
    const rest = await h.admin('GET', `/v1/finance/ledger/accounts/revenue:${game.gameId}/entries?limit=10&after=${first.body.page.nextAfter}`);
    expect(rest.body.entries).toHaveLength(2);
    expect(rest.body.page).toEqual({});
    expect((await h.admin('GET', '/v1/finance/ledger/accounts/cash:nope/entries')).body.error.code).toBe('VALIDATION_ERROR');
    expect((await h.admin('GET', '/v1/finance/ledger/trial-balance', undefined, 'wrong-token-wrong-token')).status).toBe(401);
  });

  it("takes a date (a day in RECON_TIME_ZONE) or an ISO datetime for an account's entries, as the reports do", async () => {
    const { orderId, payment } = await placeOrder();
    await h.pay(payment.channelPaymentId);
    await h.waitForStatus(orderId, 'DELIVERED');
    const timeZone = h.config.RECON_TIME_ZONE;
    const today = dayOf(new Date(), timeZone);
    const tomorrow = addDays(today, 1);
    const entriesOf = async (range: string) => {
      const res = await h.admin('GET', `/v1/finance/ledger/accounts/revenue:${game.gameId}/entries?limit=100${range}`);
      expect(res.status).toBe(200);
      return res.body.entries as { id: string }[];
    };
    const all = await entriesOf('');
    expect(all.length).toBeGreaterThan(0);
    expect(await entriesOf(`&from=${today}&to=${today}`)).toEqual(all);
    expect(await entriesOf(`&from=${startOfDay(today, timeZone).toISOString()}&to=${startOfDay(tomorrow, timeZone).toISOString()}`)).toEqual(all);
    expect(await entriesOf(`&from=${tomorrow}`)).toEqual([]);
    expect(await entriesOf(`&to=${addDays(today, -1)}`)).toEqual([]);
    const reversed = await h.admin('GET', `/v1/finance/ledger/accounts/revenue:${game.gameId}/entries?from=${tomorrow}&to=${today}`);
    expect(reversed.status).toBe(400);
    expect(reversed.body.error.code).toBe('VALIDATION_ERROR');
  });

  it('refuses to change or remove an entry: a correction is a new one', async () => {
    await expect(h.sql(sql`UPDATE journal_postings SET amount = amount + 1`)).rejects.toThrow(/append-only/);
    await expect(h.sql(sql`DELETE FROM journal_entries`)).rejects.toThrow(/append-only/);
    await expect(
      h.sql(sql`WITH e AS (INSERT INTO journal_entries (event_id, kind, currency, amount, effective_at)
          VALUES (${`test:${randomUUID()}`}, 'RECON_ADJUSTMENT', 'CNY', 5, now()) RETURNING id)
        INSERT INTO journal_postings (entry_id, leg, account, currency, amount)
        SELECT id, 1, 'suspense', 'CNY', 5 FROM e UNION ALL SELECT id, 2, 'channel_clearing:sandbox', 'CNY', -4 FROM e`),
    ).rejects.toThrow(/does not balance/);
  });

  it("books a channel's partial refund and leaves the order as it is: delivery goes on, the rest is earned; a refund of the rest ends it", async () => {
    const purchases = new PurchasesClient(h.client, h.config.TEMPORAL_TASK_QUEUE, 10_000);
    const intake = { database: h.database, config: h.config, purchases, log: { info: () => undefined, warn: () => undefined } };
    const refund = (orderId: string, channelPaymentId: string, key: string, value: number) =>
      takeChannelEvent(intake, {
        channel: 'sandbox',
        source: 'CALLBACK',
        rawBody: '{}',
        event: { kind: 'REFUND_SUCCEEDED', dedupeKey: key, merchantOrderId: orderId, channelPaymentId, refundId: key, amount: { currency: 'CNY', value } },
      });
    h.gameServer.mode = 'fail';
    const { orderId, payment } = await placeOrder();
    await h.pay(payment.channelPaymentId);
    await h.waitForStatus(orderId, 'DELIVERING');
    // Found by the model (seed 1393546580): a partial refund while delivering ended the order with the rest owed as goods.
    expect((await refund(orderId, payment.channelPaymentId, `console-${orderId}-1`, 200)).effect).toBe('PARTIAL_REFUND');
    expect((await refund(orderId, payment.channelPaymentId, `console-${orderId}-1`, 200)).effect).toBe('PARTIAL_REFUND'); // a copy
    expect(await h.orderStatus(orderId)).toBe('DELIVERING');
    h.gameServer.mode = 'ok';
    await h.waitForStatus(orderId, 'DELIVERED');
    await h.waitForWorkflowEnd(purchaseWorkflowId(orderId));
    // Of a delivered order: the game's revenue gives it back, the goods stay.
    expect((await refund(orderId, payment.channelPaymentId, `console-${orderId}-2`, 100)).effect).toBe('PARTIAL_REFUND');
    expect(await h.orderStatus(orderId)).toBe('DELIVERED');
    // The rest: the order ends REFUNDED, as a whole refund would.
    expect((await refund(orderId, payment.channelPaymentId, `console-${orderId}-3`, 300)).effect).toBe('REVERSAL');
    await h.waitForStatus(orderId, 'REFUNDED');
    expect(await entries(orderId)).toEqual([
      'PAYMENT_CAPTURED channel_clearing>deferred_revenue 600',
      'CHANNEL_REFUND deferred_revenue>channel_clearing 200',
      'GOODS_DELIVERED deferred_revenue>revenue 400',
      'CHANNEL_REFUND refunds>channel_clearing 100',
      'CHANNEL_REFUND refunds>channel_clearing 300',
    ]);
    await invariantsHold();
  });

  it('runs a transition again when a partial refund committed while it waited for the order (its sweep never reads older books)', async () => {
    h.gameServer.mode = 'fail';
    const { orderId, payment } = await placeOrder();
    await h.pay(payment.channelPaymentId);
    await h.waitForStatus(orderId, 'DELIVERING');
    let delivered: Promise<unknown> | undefined;
    await h.database.transaction(async (tx) => {
      expect(await orderHoldings(tx, orderId, { lock: true })).toEqual({ currency: 'CNY', value: 600 });
      await recordPartialRefund(tx, { orderId, key: `race-${orderId}`, amount: { currency: 'CNY', value: 250 } });
      // The delivery's transition starts now, waits for the order's row, and runs after the commit.
      delivered = transitionOrder(h.sql, orderId, 'DELIVERED', { patch: { stamp: 'delivered_at' } }, [journalGoodsDelivered]);
      await sleep(300);
    });
    await expect(delivered).resolves.toMatchObject({ outcome: 'MOVED' });
    expect(await entries(orderId)).toEqual([
      'PAYMENT_CAPTURED channel_clearing>deferred_revenue 600',
      'CHANNEL_REFUND deferred_revenue>channel_clearing 250',
      'GOODS_DELIVERED deferred_revenue>revenue 350',
    ]);
    h.gameServer.mode = 'ok';
    await h.waitForWorkflowEnd(purchaseWorkflowId(orderId));
    await invariantsHold();
  });
});
