import { randomUUID } from 'node:crypto';
import {
  CallbackRejectedError,
  ChannelUnsupportedError,
  ReceiptRejectedError,
  type ChannelAdapter,
  type ChannelEvent,
  type CreatePaymentRequest,
  type CreatedPayment,
  type InboundCallback,
  type PaymentRef,
  type StatementRow,
} from '../../channels/types';
import type { Money } from '../../domain/money';

/**
 * The one conformance suite every channel adapter runs (like Hyperswitch's ConnectorActions): the
 * adapter against its channel's side — the real sandbox provider, or a fake of the channel's HTTP API
 * that speaks its real wire format and signs with keys made in the test.
 */
export interface ConformanceKit {
  adapter: ChannelAdapter;
  /** A request for a new order (the kit picks a currency and amount its channel takes). */
  newRequest(): CreatePaymentRequest;
  /**
   * The payer pays `created` in full at the channel; returns the notification the channel then
   * sends to our callback URL, exactly as it arrives (headers and raw body).
   */
  pay(created: CreatedPayment, request: CreatePaymentRequest): Promise<InboundCallback>;
  /** The same notification signed with a key that is not the channel's. */
  signWithWrongKey(callback: InboundCallback): InboundCallback;
  /** The same notification with its amount changed and the signature kept. */
  tamper(callback: InboundCallback): InboundCallback;
  /** The notification as signed long ago; absent when the channel signs no time. */
  stale?(callback: InboundCallback): InboundCallback;
  /** Store channels: the proof of purchase a game server submits for a paid `created`. */
  receipt?(created: CreatedPayment, request: CreatePaymentRequest): Promise<Record<string, unknown>>;
  /** Statements: the day (channel calendar) on which payments made now appear. */
  statementDate?(): string;
  close(): Promise<void>;
}

const refOf = (request: CreatePaymentRequest, created: CreatedPayment, event?: ChannelEvent): PaymentRef => ({
  orderId: request.orderId,
  channelPaymentId: created.channelPaymentId,
  channelTradeNo: event?.channelTradeNo,
  amount: request.amount,
  storeProductId: request.storeProductId,
});

async function rejectionCode(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => {
      throw new Error('expected the notification to be rejected');
    },
    (e: unknown) => e,
  );
  if (!(err instanceof CallbackRejectedError)) throw err;
  return err.code;
}

/** Reads a whole statement; an adapter that throws at once or while iterating rejects alike. */
async function collect(rows: () => AsyncIterable<StatementRow>): Promise<StatementRow[]> {
  const all: StatementRow[] = [];
  for await (const row of rows()) all.push(row);
  return all;
}

export function describeChannelConformance(name: string, makeKit: () => Promise<ConformanceKit>) {
  describe(`${name}: channel conformance`, () => {
    let kit: ConformanceKit;
    let adapter: ChannelAdapter;
    beforeAll(async () => {
      kit = await makeKit();
      adapter = kit.adapter;
    });
    afterAll(() => kit?.close());

    /** A payment the payer paid, with the notification the channel sent and what we made of it. */
    async function paidPayment() {
      const request = kit.newRequest();
      const created = await adapter.createPayment(request);
      const callback = await kit.pay(created, request);
      const verified = await adapter.verifyNotification(callback);
      const event = verified.events.find((e) => e.kind === 'PAYMENT_SUCCEEDED');
      return { request, created, callback, event };
    }

    it('creates a payment with the parameters the payer needs, the same one again for the same order', async () => {
      const request = kit.newRequest();
      const created = await adapter.createPayment(request);
      expect(created.channelPaymentId).toEqual(expect.any(String));
      expect(Object.keys(created.payment).length).toBeGreaterThan(0);
      expect((await adapter.createPayment(request)).channelPaymentId).toBe(created.channelPaymentId);
    });

    it("verifies the channel's notification of a payment and reports it in minor units, for this order", async () => {
      const { request, created, event } = await paidPayment();
      expect(event).toMatchObject({
        kind: 'PAYMENT_SUCCEEDED',
        merchantOrderId: request.orderId,
        channelPaymentId: created.channelPaymentId,
        channelTradeNo: expect.any(String),
      });
      // Stores charge their product's price and may not say it (Google Play): the product is what must match.
      if (adapter.supports.receipts) {
        expect(event!.storeProductId).toBe(request.storeProductId);
        if (event!.amount !== undefined) expect(event!.amount).toEqual(request.amount);
      } else {
        expect(event!.amount).toEqual(request.amount);
      }
      expect(event!.dedupeKey).toEqual(expect.any(String));
      expect(adapter.acknowledgement().status).toBeGreaterThanOrEqual(200);
      expect(adapter.acknowledgement().status).toBeLessThan(300);
    });

    it('gives a notification received again the same dedupe key (one effect)', async () => {
      const { callback, event } = await paidPayment();
      const again = await adapter.verifyNotification(callback);
      expect(again.events.find((e) => e.kind === 'PAYMENT_SUCCEEDED')?.dedupeKey).toBe(event!.dedupeKey);
    });

    it('rejects a tampered notification and one signed with another key', async () => {
      const { callback } = await paidPayment();
      expect(await rejectionCode(adapter.verifyNotification(kit.tamper(callback)))).toBe('INVALID_SIGNATURE');
      expect(await rejectionCode(adapter.verifyNotification(kit.signWithWrongKey(callback)))).toBe('INVALID_SIGNATURE');
      expect(await rejectionCode(adapter.verifyNotification({ headers: {}, rawBody: Buffer.from('garbage') }))).toMatch(
        /INVALID_SIGNATURE|MALFORMED_NOTIFICATION/,
      );
    });

    it('rejects a replayed notification signed outside the allowed window', async () => {
      if (!kit.stale) return expect(kit.stale).toBeUndefined(); // this channel signs no time: duplicates are deduplicated instead
      const { callback } = await paidPayment();
      expect(await rejectionCode(adapter.verifyNotification(kit.stale(callback)))).toBe('STALE_NOTIFICATION');
    });

    it('answers a query as the notification would: pending before, succeeded after', async () => {
      const request = kit.newRequest();
      const created = await adapter.createPayment(request);
      expect(['PENDING', 'NOT_FOUND']).toContain((await adapter.queryPayment(refOf(request, created))).state);
      const callback = await kit.pay(created, request);
      const event = (await adapter.verifyNotification(callback)).events[0];
      const queried = await adapter.queryPayment(refOf(request, created, event));
      expect(queried.state).toBe('SUCCEEDED');
      expect(queried.event).toMatchObject({
        kind: 'PAYMENT_SUCCEEDED',
        merchantOrderId: request.orderId,
        channelTradeNo: event!.channelTradeNo,
      });
      if (!adapter.supports.receipts) expect(queried.event!.amount).toEqual(request.amount);
    });

    it('closes an unpaid payment, and reports a paid one as paid', async () => {
      const request = kit.newRequest();
      const created = await adapter.createPayment(request);
      if (!adapter.supports.close) {
        await expect(adapter.closePayment(refOf(request, created))).rejects.toBeInstanceOf(ChannelUnsupportedError);
        return;
      }
      expect(await adapter.closePayment(refOf(request, created))).toBe('CLOSED');
      expect(await adapter.closePayment(refOf(request, created))).toBe('CLOSED');
      const paid = await paidPayment();
      expect(await adapter.closePayment(refOf(paid.request, paid.created, paid.event))).toBe('ALREADY_PAID');
    });

    it('refunds once per refund id, however often it is asked, and answers the refund query', async () => {
      const { request, created, event } = await paidPayment();
      const refund = {
        refundId: `rf${randomUUID().replace(/-/g, '')}`,
        payment: refOf(request, created, event),
        amount: request.amount as Money,
        paid: event!.amount!,
        reason: 'conformance',
      };
      if (!adapter.supports.refund) {
        await expect(adapter.refund(refund)).rejects.toBeInstanceOf(ChannelUnsupportedError);
        return;
      }
      const first = await adapter.refund(refund);
      const second = await adapter.refund(refund);
      expect(second.channelRefundId).toBe(first.channelRefundId);
      if (adapter.supports.queryRefund) {
        const queried = await adapter.queryRefund({ refundId: refund.refundId, payment: refund.payment });
        expect(['SUCCEEDED', 'PROCESSING']).toContain(queried.state);
      }
    });

    it('lists a paid payment in the statement of its day', async () => {
      if (!adapter.supports.statement) {
        await expect(collect(() => adapter.fetchStatement('2026-01-01'))).rejects.toBeInstanceOf(ChannelUnsupportedError);
        return;
      }
      const { request, event } = await paidPayment();
      const rows = await collect(() => adapter.fetchStatement(kit.statementDate!()));
      expect(rows).toContainEqual(
        expect.objectContaining({
          kind: 'PAYMENT',
          channelTradeNo: event!.channelTradeNo,
          merchantOrderId: request.orderId,
          amount: request.amount,
        }),
      );
      // Each row at most once: statements are matched row by row.
      expect(rows.filter((r) => r.kind === 'PAYMENT' && r.channelTradeNo === event!.channelTradeNo)).toHaveLength(1);
    });

    it("verifies a store receipt for this order only, naming the product bought", async () => {
      if (!adapter.supports.receipts) {
        await expect(adapter.verifyReceipt({}, { orderId: randomUUID(), amount: { currency: 'USD', value: 1 } })).rejects.toBeInstanceOf(
          ChannelUnsupportedError,
        );
        return;
      }
      const request = kit.newRequest();
      const created = await adapter.createPayment(request);
      await kit.pay(created, request);
      const receipt = await kit.receipt!(created, request);
      const context = { orderId: request.orderId, amount: request.amount, storeProductId: request.storeProductId };
      expect(await adapter.verifyReceipt(receipt, context)).toMatchObject({ kind: 'PAYMENT_SUCCEEDED', merchantOrderId: request.orderId });
      // Another product's purchase is this order's money: verified, and held by paymentResultOf.
      expect(await adapter.verifyReceipt(receipt, { ...context, storeProductId: 'another.product' })).toMatchObject({
        storeProductId: request.storeProductId,
      });
      await expect(adapter.verifyReceipt(receipt, { ...context, orderId: randomUUID() })).rejects.toBeInstanceOf(ReceiptRejectedError);
    });
  });
}
