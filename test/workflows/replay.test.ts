import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { purchaseWorkflowId, reversalWorkflowId } from '../../domain/ids';
import { DELIVERY_STREAM } from '../../domain/fulfillment/modes';
import { natsBroker } from '../../infra/brokers/nats';
import { startNatsConsumer } from '../../examples/nats-consumer';
import { booksInMemory } from '../../examples/shared';
import { TEST_NATS_URL } from '../support/brokers';
import { channelReversalSignal } from '../../workflows/contract';
import { Harness, sleep, workflowBundle } from '../support/harness';

const HISTORIES = join(__dirname, 'histories');
const { History } = temporal.api.history.v1;
const JSON_FORM = { longs: String, enums: String, bytes: String };
/** Recorded histories are named by the shape of the workflow that made them: bump it with the shape. */
const HISTORY_VERSION = '2026-12-10';

/**
 * Determinism guard: recorded histories of every path through the purchase workflow must replay
 * against the current workflow code. Histories recorded by earlier versions live in test/histories
 * (RECORD_HISTORIES=1 adds the histories of paths not recorded yet; a change of the commands a
 * running order replays goes behind `patched()`, and the old histories prove it).
 */
let h: Harness;
const nats = natsBroker(TEST_NATS_URL);

describe('workflow replay', () => {
  beforeAll(async () => {
    h = await Harness.start({ PAYMENT_TIMEOUT_MS: '1500', DELIVERY_DEADLINE_MS: '2000', PAYMENT_QUERY_AFTER_MS: '500' });
  });
  afterAll(() => h?.close());

  it('replays fresh histories of every path through the purchase', async () => {
    const game = await h.createGame();
    const sku = await h.createItem(game, { stock: 10 });
    const order = async () => {
      const res = await h.createOrder(game, { userId: `user-${randomUUID().slice(0, 8)}`, sku, region: 'CN' });
      expect(res.status).toBe(201);
      return res.body as { orderId: string; payment: { channelPaymentId: string } };
    };

    // A loaded machine may take longer than the refund path's 2 s to deliver: the delivered paths get longer.
    h.config.DELIVERY_DEADLINE_MS = 30_000;
    const delivered = await order();
    await h.pay(delivered.payment.channelPaymentId, { result: 'FAILED' });
    await sleep(200);
    await h.pay(delivered.payment.channelPaymentId, { result: 'SUCCESS', notifyTimes: 3 });
    const timedOut = await order();
    const mismatch = await order();
    await h.pay(mismatch.payment.channelPaymentId, { result: 'SUCCESS', paidAmount: 5 });
    const cancelled = await order();
    await h.signed(game, 'POST', `/v1/orders/${cancelled.orderId}/cancel`);
    await h.waitForStatus(delivered.orderId, 'DELIVERED');
    h.gameServer.mode = 'fail';
    h.config.DELIVERY_DEADLINE_MS = 2_000;
    const refunded = await order();
    await h.pay(refunded.payment.channelPaymentId);
    await h.waitForStatus(refunded.orderId, 'REFUNDED');

    await h.waitForStatus(mismatch.orderId, 'MANUAL_REVIEW');
    await opsAction(mismatch.orderId, 'resolve', { action: 'REFUND', reason: 'underpaid' });
    const reviewDelivered = await order();
    await h.pay(reviewDelivered.payment.channelPaymentId, { result: 'SUCCESS', paidAmount: 700 });
    await h.waitForStatus(reviewDelivered.orderId, 'MANUAL_REVIEW');
    h.gameServer.mode = 'ok';
    await opsAction(reviewDelivered.orderId, 'resolve', { action: 'DELIVER', reason: 'overpaid' });

    // Paid at the channel, its notification lost: found by asking the channel.
    const foundByQuery = await order();
    await h.pay(foundByQuery.payment.channelPaymentId, { result: 'SUCCESS', notifyDelayMs: 3_600_000 });
    // Charged back while the game server is down: the order ends without a refund of ours.
    h.gameServer.mode = 'fail';
    h.config.DELIVERY_DEADLINE_MS = 60_000;
    const chargedBack = await order();
    await h.pay(chargedBack.payment.channelPaymentId);
    await h.waitForStatus(chargedBack.orderId, 'DELIVERING');
    await h.client.workflow
      .getHandle(purchaseWorkflowId(chargedBack.orderId))
      .signal(channelReversalSignal, { cause: 'CHARGEBACK', dedupeKey: 'replay-cb', revoke: true });
    await h.waitForStatus(chargedBack.orderId, 'CHARGED_BACK');
    h.gameServer.mode = 'ok';
    // The channel's refund arrives before its payment: the order ends without a delivery.
    const refundedBeforePaid = await order();
    await h.client.workflow
      .getHandle(purchaseWorkflowId(refundedBeforePaid.orderId))
      .signal(channelReversalSignal, { cause: 'CHANNEL_REFUND', dedupeKey: 'replay-early-refund', revoke: true });
    await h.pay(refundedBeforePaid.payment.channelPaymentId);
    await h.waitForStatus(refundedBeforePaid.orderId, 'REFUNDED');
    expect(h.gameServer.attemptsFor(refundedBeforePaid.orderId)).toHaveLength(0);

    // A REVIEW rule holds paid orders for a person: approved, denied, undecided until the timeout.
    const review = { kind: 'AML_SINGLE', params: { amount: { currency: 'CNY', value: 1 } }, action: 'REVIEW', enabled: true, gameId: game.gameId };
    expect((await h.admin('PUT', '/v1/admin/risk/rules/replay-review', review)).status).toBe(200);
    await sleep(1_100); // every process applies it within a second
    const held = async () => {
      const placed = await order();
      await h.pay(placed.payment.channelPaymentId);
      await h.waitForStatus(placed.orderId, 'RISK_REVIEW');
      return placed;
    };
    const riskApproved = await held();
    await opsAction(riskApproved.orderId, 'risk-decision', { decision: 'APPROVE', reason: 'known player' });
    const riskDenied = await held();
    await opsAction(riskDenied.orderId, 'risk-decision', { decision: 'DENY', reason: 'stolen card' });
    h.config.RISK_REVIEW_TIMEOUT_MS = 500;
    const riskTimedOut = await held();
    await h.admin('DELETE', '/v1/admin/risk/rules/replay-review');

    const cases = { riskApproved, riskDenied, riskTimedOut, delivered, timedOut, reviewRefunded: mismatch, reviewDelivered, cancelled, refunded, foundByQuery, chargedBack, refundedBeforePaid };
    const expected = {
      riskApproved: 'DELIVERED',
      riskDenied: 'REFUNDED',
      riskTimedOut: 'REFUNDED',
      delivered: 'DELIVERED',
      timedOut: 'CLOSED',
      reviewRefunded: 'REFUNDED',
      reviewDelivered: 'DELIVERED',
      cancelled: 'CLOSED',
      refunded: 'REFUNDED',
      foundByQuery: 'DELIVERED',
      chargedBack: 'CHARGED_BACK',
      refundedBeforePaid: 'REFUNDED',
    };
    const histories: { name: string; workflowId: string; history: temporal.api.history.v1.IHistory }[] = [];
    for (const [name, { orderId }] of Object.entries(cases)) {
      const handle = h.client.workflow.getHandle(purchaseWorkflowId(orderId));
      await expect(handle.result()).resolves.toBe(expected[name as keyof typeof expected]);
      histories.push({ name, workflowId: handle.workflowId, history: await handle.fetchHistory() });
    }

    const replayed = await replay(histories.map(({ workflowId, history }) => ({ workflowId, history })));
    expect(replayed).toEqual(histories.map(() => undefined));

    if (process.env.RECORD_HISTORIES === '1') {
      mkdirSync(HISTORIES, { recursive: true });
      // Histories of earlier versions are kept: they are what running orders were started with.
      for (const { name, history } of histories) {
        const file = join(HISTORIES, `purchase-${HISTORY_VERSION}-${name}.json`);
        if (existsSync(file)) continue;
        writeFileSync(file, JSON.stringify(History.toObject(History.fromObject(history), JSON_FORM), null, 1));
      }
    }
  });

  it('replays fresh histories of the broker paths: acked, republished past the ack timeout, revoked by broker', async () => {
    await nats.ensureStream({ name: DELIVERY_STREAM.name, subjects: [...DELIVERY_STREAM.subjects], maxAgeMs: DELIVERY_STREAM.maxAgeMs });
    const game = await h.createGame('replay NATS game');
    const sku = await h.createItem(game, { stock: 10 });
    const put = await h.admin('PUT', `/v1/admin/games/${game.gameId}`, {
      name: 'replay NATS game',
      secret: game.secret,
      deliveryUrl: h.gameServer.deliveryUrl(game.gameId),
      delivery: { mode: 'NATS', ackTimeoutMs: 1_000 },
    });
    expect(put.status).toBe(200);
    let grantDelayMs = 0;
    const consumer = await startNatsConsumer({ natsUrl: TEST_NATS_URL, apiUrl: h.api.url, game, books: booksInMemory(async () => (await sleep(grantDelayMs), 'GRANTED')) });
    h.config.DELIVERY_DEADLINE_MS = 30_000;
    try {
      const paid = async () => {
        const res = await h.createOrder(game, { userId: `user-${randomUUID().slice(0, 8)}`, sku, region: 'CN' });
        expect(res.status).toBe(201);
        const { orderId, payment } = res.body as { orderId: string; payment: { channelPaymentId: string } };
        await h.pay(payment.channelPaymentId);
        await h.waitForStatus(orderId, 'DELIVERED').catch(async (err: Error) => {
          const row = await h.db.order.findUnique({ where: { id: orderId }, include: { delivery: true } });
          throw new Error(`${err.message}: ${JSON.stringify(row)}`);
        });
        return orderId;
      };
      const brokerAcked = await paid();
      grantDelayMs = 2_500;
      const brokerRepublished = await paid();
      grantDelayMs = 0;
      const refund = await opsAction(brokerAcked, 'refund', { reason: 'player asked' });
      expect(refund.status).toBe(202);
      const histories = [];
      for (const [name, workflowId, status] of [
        ['purchase-brokerAcked', purchaseWorkflowId(brokerAcked), 'DELIVERED'],
        ['purchase-brokerRepublished', purchaseWorkflowId(brokerRepublished), 'DELIVERED'],
        ['reversal-brokerRevoked', reversalWorkflowId(brokerAcked), 'REFUNDED'],
      ] as const) {
        const handle = h.client.workflow.getHandle(workflowId);
        await expect(handle.result()).resolves.toBe(status);
        histories.push({ name, workflowId, history: await handle.fetchHistory() });
      }
      expect(await h.db.revocation.findUnique({ where: { id: `rv_${brokerAcked}` } })).toMatchObject({ status: 'REVOKED', mode: 'NATS' });
      expect(await replay(histories.map(({ workflowId, history }) => ({ workflowId, history })))).toEqual(histories.map(() => undefined));
      if (process.env.RECORD_HISTORIES === '1') {
        for (const { name, history } of histories) {
          const [type, path] = name.split('-');
          const file = join(HISTORIES, `${type}-${HISTORY_VERSION}-${path}.json`);
          if (!existsSync(file)) writeFileSync(file, JSON.stringify(History.toObject(History.fromObject(history), JSON_FORM), null, 1));
        }
      }
    } finally {
      await consumer.stop();
      await nats.close();
    }
  });

  it('replays the histories recorded by earlier versions', async () => {
    const files = existsSync(HISTORIES) ? readdirSync(HISTORIES).filter((f) => f.endsWith('.json')) : [];
    expect(files.length).toBeGreaterThanOrEqual(7);
    const recorded = files.map((file) => ({
      workflowId: file,
      history: History.fromObject(JSON.parse(readFileSync(join(HISTORIES, file), 'utf8'))),
    }));
    expect(await replay(recorded)).toEqual(recorded.map(() => undefined));
  });
});

function opsAction(orderId: string, action: string, body: unknown) {
  return h.request('POST', `/v1/ops/orders/${orderId}/${action}`, JSON.stringify(body), {
    Authorization: `Bearer ${h.config.ADMIN_TOKEN}`,
    'Content-Type': 'application/json',
    'X-Operator': 'replay-test',
  });
}

async function replay(histories: { workflowId: string; history: temporal.api.history.v1.IHistory }[]) {
  const errors: unknown[] = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) {
    errors.push(result.error);
  }
  return errors;
}
