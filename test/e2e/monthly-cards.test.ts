import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { cardDayDeliveryId, monthlyCardIdFor, purchaseWorkflowId } from '../../domain/ids';
import { monthlyCardDayWebhookBody } from '../../api/deliveries/schemas';
import { monthlyCardsResponse } from '../../api/monthly-cards/schemas';
import { ledgerViolations } from '../../store/journal';
import { sql } from '../../store/sql';
import { Harness, sleep, workflowBundle, type TestGame } from '../support/harness';

/**
 * Monthly cards end to end (real PostgreSQL, Temporal, HTTP game server) with short card days
 * (GAME_DAY_MS): day 1 at once, one day per day after, extension, refund, catch-up, never a day twice.
 */
const DAY_MS = 1_500;
const HISTORIES = join(__dirname, '..', 'workflows', 'histories');
const HISTORY_VERSION = '2026-12-10';
const { History } = temporal.api.history.v1;

let h: Harness;
let game: TestGame;
let sku: string;

beforeAll(async () => {
  h = await Harness.start({ GAME_DAY_MS: String(DAY_MS) });
  game = await h.createGame();
  sku = await h.createItem(game, { kind: 'MONTHLY_CARD', monthlyCard: { days: 3, dailyGrants: [{ itemId: 'gem', quantity: 10 }] } });
});
afterAll(() => h?.close());

async function buyCard(userId: string): Promise<string> {
  const res = await h.createOrder(game, { userId, sku, region: 'CN' });
  expect(res.status).toBe(201);
  const { orderId, payment } = res.body as { orderId: string; payment: { channelPaymentId: string } };
  await h.pay(payment.channelPaymentId);
  await h.waitForStatus(orderId, 'DELIVERED');
  return orderId;
}

async function waitForDays(cardId: string, count: number, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (h.gameServer.cardDaysGranted(cardId).length < count) {
    if (Date.now() > deadline) throw new Error(`card ${cardId}: ${h.gameServer.cardDaysGranted(cardId).length} days granted, expected ${count}`);
    await sleep(50);
  }
  return h.gameServer.cardDaysGranted(cardId);
}

async function dayRows(cardId: string) {
  return h.sql<{ id: string; day: number; order_id: string; due_at: Date; status: string }>(
    sql`SELECT id, day, order_id::text, due_at, status FROM monthly_card_days WHERE card_id = ${cardId} ORDER BY day`,
  );
}

async function cardsOf(userId: string) {
  const res = await h.signed(game, 'GET', `/v1/monthly-cards?userId=${encodeURIComponent(userId)}`);
  expect(res.status).toBe(200);
  expect(monthlyCardsResponse.safeParse(res.body).error).toBeUndefined(); // the documented answer
  return (res.body as { cards: { cardId: string; daysGranted: number; daysRemaining: number; endsAt: string; nextGrantAt?: string }[] }).cards;
}

const noLedgerViolations = async () =>
  expect(await ledgerViolations(h.sql, { deliveryDeadlineMs: h.config.DELIVERY_DEADLINE_MS, gameId: game.gameId })).toEqual([]);

describe('monthly cards', () => {
  it('grants day 1 at once and one day per game day; buying again adds its days at the end; no day twice', async () => {
    // Longer days here: the second purchase must land while the card runs, on a loaded machine too.
    const dayMs = 2_500;
    h.config.GAME_DAY_MS = dayMs;
    try {
      const userId = `card-${randomUUID().slice(0, 8)}`;
      const cardId = monthlyCardIdFor(game.gameId, userId, sku);
      // Two purchases at once: the card starts once and the other adds its days at the end.
      const orders = await Promise.all([buyCard(userId), buyCard(userId)]);
      // Each order's own goods as any order, then the card's days.
      for (const orderId of orders) expect(h.gameServer.grantOf(orderId)?.deliveryId).toBe(`dlv_${orderId}`);
      // The card starts after the order's delivery (the purchase's next step).
      await waitForDays(cardId, 1);
      expect((await cardsOf(userId))[0]).toMatchObject({ cardId, daysGranted: expect.any(Number), daysRemaining: expect.any(Number) });

      const granted = await waitForDays(cardId, 6, 40_000);
      const [first, second] = [granted[0]!.body.orderId as string, granted[5]!.body.orderId as string];
      expect([first, second].sort()).toEqual([...orders].sort());
      expect(granted.map((g) => g.deliveryId)).toEqual([1, 2, 3, 4, 5, 6].map((d) => cardDayDeliveryId(cardId, d)));
      expect(granted.map((g) => g.body.orderId)).toEqual([first, first, first, second, second, second]);
      expect(granted[0]!.body).toEqual({
        deliveryId: `${cardId}:1`,
        kind: 'MONTHLY_CARD_DAILY',
        cardId,
        orderId: first,
        userId,
        sku,
        day: 1,
        grants: [{ itemId: 'gem', quantity: 10 }],
      });
      expect(granted.every((g) => g.signatureValid && g.resent === 0)).toBe(true);
      for (const g of granted) expect(monthlyCardDayWebhookBody.safeParse(g.body).error).toBeUndefined(); // the documented webhook
      // One day per day, on the schedule (the second purchase continued it); each recorded once the game took it.
      await expect(h.client.workflow.getHandle(cardId).result()).resolves.toBe('ENDED');
      const rows = await dayRows(cardId);
      const gaps = rows.slice(1).map((r, i) => r.due_at.getTime() - rows[i]!.due_at.getTime());
      expect(gaps).toEqual([dayMs, dayMs, dayMs, dayMs, dayMs]);
      expect(rows.every((r) => r.status === 'DELIVERED')).toBe(true);
      await sleep(dayMs);
      expect(h.gameServer.cardDaysGranted(cardId)).toHaveLength(6);
      const [card] = await cardsOf(userId);
      expect(card).toMatchObject({ cardId, daysGranted: 6, daysRemaining: 0 });
      expect(card!.nextGrantAt).toBeUndefined();
      expect(Date.parse(card!.endsAt)).toBe(rows[5]!.due_at.getTime() + dayMs);
      await noLedgerViolations();
      await recordHistories('extended', cardId, first);
    } finally {
      h.config.GAME_DAY_MS = DAY_MS;
    }
  });

  it("drops a refunded card order's days not yet granted, keeping those granted", async () => {
    const userId = `card-${randomUUID().slice(0, 8)}`;
    const cardId = monthlyCardIdFor(game.gameId, userId, sku);
    const orderId = await buyCard(userId);
    await waitForDays(cardId, 1);
    const refund = await h.request('POST', `/v1/ops/orders/${orderId}/refund`, JSON.stringify({ reason: 'player asked', revoke: true }), {
      Authorization: `Bearer ${h.config.ADMIN_TOKEN}`,
      'Content-Type': 'application/json',
      'X-Operator': 'cards-test',
    });
    expect(refund.status).toBe(202);
    await h.waitForStatus(orderId, 'REFUNDED');
    await expect(h.client.workflow.getHandle(cardId).result()).resolves.toBe('ENDED');
    await sleep(DAY_MS * 2);
    // Day 2 may have begun before the refund: at most the days handed out before it, none after.
    const granted = h.gameServer.cardDaysGranted(cardId);
    expect(granted.length).toBeLessThan(3);
    expect((await dayRows(cardId)).map((r) => r.status)).toEqual(granted.map(() => 'DELIVERED'));
    expect((await cardsOf(userId))[0]).toMatchObject({ daysGranted: granted.length, daysRemaining: 0 });
    await noLedgerViolations();
  });

  it('delivers the days missed while the game server was down in order once it answers, each once', async () => {
    const userId = `card-${randomUUID().slice(0, 8)}`;
    const cardId = monthlyCardIdFor(game.gameId, userId, sku);
    await buyCard(userId);
    await waitForDays(cardId, 1);
    h.gameServer.mode = 'fail';
    await sleep(DAY_MS * 2 + 500); // days 2 and 3 fall due while it is down
    expect(h.gameServer.cardDaysGranted(cardId)).toHaveLength(1);
    expect((await cardsOf(userId))[0]).toMatchObject({ daysGranted: 1, daysRemaining: 2 });
    const back = Date.now();
    h.gameServer.mode = 'ok';
    const granted = await waitForDays(cardId, 3);
    expect(granted.map((g) => g.body.day)).toEqual([1, 2, 3]);
    expect(granted.slice(1).every((g) => g.grantedAt >= back && g.resent === 0)).toBe(true);
    const rows = await dayRows(cardId);
    expect(rows[2]!.due_at.getTime() - rows[0]!.due_at.getTime()).toBe(2 * DAY_MS);
    await expect(h.client.workflow.getHandle(cardId).result()).resolves.toBe('ENDED');
    await noLedgerViolations();
  });

  it('refuses a card list without a userId', async () => {
    const res = await h.signed(game, 'GET', '/v1/monthly-cards');
    expect(res.status).toBe(400);
    expect((res.body as { error: { code: string } }).error.code).toBe('VALIDATION_ERROR');
  });
});

/**
 * The card's first and last runs and its purchase replay against today's workflow code; with
 * RECORD_HISTORIES=1 they are kept in test/workflows/histories (replayed there by replay.test.ts).
 */
async function recordHistories(name: string, cardId: string, orderId: string) {
  const last = h.client.workflow.getHandle(cardId);
  const runs: temporal.api.history.v1.IHistory[] = [await last.fetchHistory()];
  for (let run = runs[0]; ; ) {
    const previous = run!.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
    if (!previous) break;
    run = await h.client.workflow.getHandle(cardId, previous).fetchHistory();
    runs.unshift(run);
  }
  expect(runs.length).toBeGreaterThan(1); // it continued as new
  const histories = [
    { name: `purchase-${HISTORY_VERSION}-monthlyCard`, workflowId: purchaseWorkflowId(orderId), history: await h.client.workflow.getHandle(purchaseWorkflowId(orderId)).fetchHistory() },
    { name: `monthly-card-${HISTORY_VERSION}-${name}-first`, workflowId: cardId, history: runs[0]! },
    { name: `monthly-card-${HISTORY_VERSION}-${name}-last`, workflowId: cardId, history: runs[runs.length - 1]! },
  ];
  const errors: unknown[] = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) errors.push(result.error);
  expect(errors).toEqual(histories.map(() => undefined));
  if (process.env.RECORD_HISTORIES !== '1') return;
  for (const { name: file, history } of histories) {
    const path = join(HISTORIES, `${file}.json`);
    if (!existsSync(path)) writeFileSync(path, JSON.stringify(History.toObject(History.fromObject(history), { longs: String, enums: String, bytes: String }), null, 1));
  }
}
