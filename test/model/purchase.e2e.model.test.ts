import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import fc from 'fast-check';
import { latePaymentWorkflowId, orderIdFor, purchaseWorkflowId, reversalWorkflowId } from '../../domain/ids';
import { canTransition, type OrderStatus } from '../../domain/orders/status';
import { ledgerViolations } from '../../store/journal';
import { FakeGooglePlay, PURCHASE_STATE, VOIDED_REASON, type GooglePlayPush } from '../../testkit/fakes/googleplay';
import { seededRandom, type GameServerMode as ReferenceMode } from '../../testkit/game-server';
import { orderViolations, type OrderExceptions, type OrderFacts } from '../../testkit/order-invariants';
import { Harness, sleep, workflowBundle, type JsonResponse, type TestGame } from '../support/harness';
import { canSend, initialState, narrow, outcomeOf, pendingDeadline, reviewOutcomeOf, step, type GameServerMode, type ModelEvent, type ModelState, type OpsAction, type Outcome, type Setup, type Status } from './purchase-model';

/**
 * Level 2 of the model-based tests (issue 24): the same model as level 1, against the whole system of
 * the Harness — the API on a real socket, the worker, PostgreSQL, the reference game server (its faults
 * from the run's seed) and a run's channel: the sandbox provider, or Google Play (testkit's fake: the
 * payer buys there, the game posts the receipt, Pub/Sub pushes its notifications, refunds and chargebacks
 * void the purchase). Every command is an HTTP call a game server, an operator, the sandbox's payer or
 * Google makes; the status barrier and every invariant read PostgreSQL, the channel's own books and the
 * game server's own log. Replay with MODEL_SEED and MODEL_PATH (as level 1).
 */

const env = process.env;
const RUNS = Number(env.MODEL_E2E_RUNS ?? 6);
const MAX_COMMANDS = Number(env.MODEL_E2E_MAX_COMMANDS ?? 12);
const SEED = env.MODEL_SEED !== undefined ? Number(env.MODEL_SEED) : Date.now() % 2 ** 31;
const TIME_LIMIT_MS = env.MODEL_TIME_LIMIT_MS !== undefined ? Number(env.MODEL_TIME_LIMIT_MS) : undefined;

const TIMING = {
  PAYMENT_TIMEOUT_MS: 6_000,
  DELIVERY_DEADLINE_MS: 3_000,
  RISK_REVIEW_TIMEOUT_MS: 3_000,
  DELIVERY_HTTP_TIMEOUT_MS: 300,
  QUERY_AFTER_MS: 300,
};
/** No command within this distance of a deadline: PostgreSQL's clock and the workflow's differ by a statement. */
const GUARD_MS = 400;
/** What one HTTP command may take before the next deadline must be kept clear. */
const COMMAND_MS = 700;
const SETTLE_MS = TIMING.PAYMENT_TIMEOUT_MS + 5_000;

/** Which of the reference game server's modes plays each of the model's answers. */
const REFERENCE_MODE: Record<GameServerMode, ReferenceMode> = { OK: 'ok', FAILS: 'fail', HANGS: 'hang', TAKES_AND_FAILS: 'take-and-fail' };
const PRICE = { CN: { currency: 'CNY', value: 600 }, JP: { currency: 'JPY', value: 160 } } as const;

type ChannelKind = 'sandbox' | 'googleplay';
/** The items' Google Play product, and another one of the app (a purchase no item sells). */
const GOOGLE_PRODUCT = 'model_gems_60';
const OTHER_GOOGLE_PRODUCT = 'model_other_product';
const OTHER_PRODUCT_PRICES = [
  { region: 'CN', currency: 'CNY', amount: 1200 },
  { region: 'JP', currency: 'JPY', amount: 320 },
];
const googleplay = new FakeGooglePlay({ packageName: 'com.studio.model' });

let h: Harness;
/** The game risk lets through, and the one whose every order a REVIEW rule holds; their items by channel. */
let games: Record<'ALLOW' | 'REVIEW', { game: TestGame; items: Record<ChannelKind, { inStock: string; soldOut: string }> }>;
/** A blacklisted user: risk denies each of their orders. */
const blockedUser = `blocked-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  h = await Harness.start(
    {
      PAYMENT_TIMEOUT_MS: String(TIMING.PAYMENT_TIMEOUT_MS),
      DELIVERY_DEADLINE_MS: String(TIMING.DELIVERY_DEADLINE_MS),
      RISK_REVIEW_TIMEOUT_MS: String(TIMING.RISK_REVIEW_TIMEOUT_MS),
      DELIVERY_HTTP_TIMEOUT_MS: String(TIMING.DELIVERY_HTTP_TIMEOUT_MS),
      DELIVERY_RETRY_INITIAL_MS: '50',
      DELIVERY_RETRY_MAX_MS: '150',
      ACTIVITY_RETRY_INITIAL_MS: '50',
      ACTIVITY_RETRY_MAX_MS: '300',
      PAYMENT_QUERY_AFTER_MS: '0',
      SANDBOX_NOTIFY_RETRY_MS: '100',
    },
    { random: seededRandom(SEED) },
  );
  await googleplay.start();
  const google = { type: 'googleplay', enabled: true, credentials: googleplay.credentials() };
  expect((await h.admin('PUT', '/v1/admin/channels/googleplay', google)).status).toBe(200);
  const gameWithItems = async (name: string) => {
    const game = await h.createGame(name);
    const store = { storeProducts: { googleplay: GOOGLE_PRODUCT } };
    // Another product of the app, sold by another item: what a payer charged for it is its price here.
    await h.createItem(game, { storeProducts: { googleplay: OTHER_GOOGLE_PRODUCT }, prices: OTHER_PRODUCT_PRICES });
    return {
      game,
      items: {
        sandbox: { inStock: await h.createItem(game), soldOut: await h.createItem(game, { stock: 0 }) },
        googleplay: { inStock: await h.createItem(game, store), soldOut: await h.createItem(game, { ...store, stock: 0 }) },
      },
    };
  };
  games = { ALLOW: await gameWithItems('Model game'), REVIEW: await gameWithItems('Model game under review') };
  for (const [currency, price] of [['CNY', PRICE.CN], ['JPY', PRICE.JP]] as const) {
    const rule = { kind: 'AML_SINGLE', params: { amount: price }, action: 'REVIEW', enabled: true, gameId: games.REVIEW.game.gameId };
    expect((await h.admin('PUT', `/v1/admin/risk/rules/model-review-${currency}-${randomUUID().slice(0, 6)}`, rule)).status).toBe(200);
  }
  expect((await h.admin('PUT', `/v1/admin/risk/blacklist/USER/${blockedUser}`, { reason: 'model-based test' })).status).toBe(200);
  await sleep(1_100); // every process applies risk and channel changes within a second
}, 120_000);
afterAll(async () => {
  await h?.close();
  await googleplay.stop();
});

/** A run's world, drawn from the seed: what the model's Setup says, as this system can be set up. */
interface E2eSetup {
  channel: ChannelKind;
  risk: Setup['risk'];
  inStock: boolean;
  region: 'CN' | 'JP';
  /** The workflow asks the channel about a silent payment (PAYMENT_QUERY_AFTER_MS), or never. */
  queriesLostPayments: boolean;
}

const modelSetup = (s: E2eSetup): Setup => ({
  risk: s.risk,
  inStock: s.inStock,
  channel: 'OPENS',
  // Both return money through their API (Google Play: orders.refund).
  refundable: true,
  // Google Play must hear of the delivery (consume, before its 3-day refund of unacknowledged purchases).
  confirmsDelivery: s.channel === 'googleplay',
  // Google knows a purchase by its token only, which the payer's device gets: its query cannot find a
  // payment nobody told us of (the workflow still asks it, and must find nothing).
  queriesLostPayments: s.channel === 'sandbox' && s.queriesLostPayments,
  amount: PRICE[s.region],
});

interface Model {
  channel: ChannelKind;
  setup: Setup;
  state: ModelState;
  deadlineAt?: number;
}

/** Where the receipt route waits (up to 5 s) for the order to move on before it answers. */
const RECEIPT_WAITS_IN: readonly Status[] = ['PENDING_PAYMENT', 'PAID', 'DELIVERING'];
const receiptWaits = (outcome: Outcome) => outcome.next.some((s) => s.status !== undefined && RECEIPT_WAITS_IN.includes(s.status));

class World {
  readonly key = randomUUID();
  readonly userId: string;
  readonly game: TestGame;
  readonly sku: string;
  orderId?: string;
  channelPaymentId?: string;
  firstAnswer?: JsonResponse;
  /** The workflows this run started besides the purchase (late payment, reversal). */
  readonly others = new Set<string>();
  /** Google Play: what the order's payment tells the payer's device, the purchase that paid, the last push. */
  private googlePayment?: { obfuscatedAccountId: string; obfuscatedProfileId: string };
  paidToken?: string;
  private lastPush?: GooglePlayPush;
  private voidPushed = false;
  /** How the last payment reached us (Google Play: the game's receipt, or Google's push). */
  lastRoute?: 'RECEIPT' | 'CALLBACK';

  constructor(readonly setup: E2eSetup) {
    const { game, items } = games[setup.risk === 'REVIEW' ? 'REVIEW' : 'ALLOW'];
    this.game = game;
    this.sku = setup.inStock ? items[setup.channel].inStock : items[setup.channel].soldOut;
    this.userId = setup.risk === 'DENY' ? blockedUser : `model-${randomUUID().slice(0, 8)}`;
  }

  private createBody(deviceId = 'device-1') {
    const channel = this.setup.channel === 'googleplay' ? { channel: 'googleplay', platform: 'android' } : { channel: 'sandbox' };
    return { userId: this.userId, sku: this.sku, region: this.setup.region, deviceId, ...channel };
  }

  private ops(path: string, body: Record<string, unknown>) {
    return h.http.admin('POST', `/v1/ops/orders/${this.orderId}/${path}`, { reason: 'model-based test', ...body }, undefined, { 'X-Operator': 'model@studio.example' });
  }

  /** Sends the event over HTTP; the answer's status and error code, to compare with the model's. */
  async send(event: ModelEvent, model: Model, outcome: Outcome): Promise<{ status: number; code?: string }> {
    const answer = await this.call(event, model, outcome);
    return { status: answer.status, code: answer.body?.error?.code };
  }

  private async call(event: ModelEvent, model: Model, outcome: Outcome): Promise<JsonResponse> {
    const signed = (method: string, path: string) => h.signed(this.game, method, path);
    switch (event.kind) {
      case 'CREATE': {
        const answer = await h.createOrder(this.game, this.createBody(), this.key);
        this.orderId = orderIdFor(this.game.gameId, this.key);
        this.channelPaymentId = answer.body?.payment?.channelPaymentId;
        if (this.setup.channel === 'googleplay' && answer.status === 201) this.googlePayment = answer.body.payment;
        this.firstAnswer = answer;
        return answer;
      }
      case 'CREATE_AGAIN': {
        const again = await h.createOrder(this.game, this.createBody(), this.key);
        if (again.status === 201) expect(again.body.orderId).toBe(this.orderId);
        return again;
      }
      case 'CREATE_CONFLICT':
        return h.createOrder(this.game, this.createBody('another-device'), this.key);
      case 'PAY':
        if (this.setup.channel === 'googleplay') return this.payAtGoogle(event, outcome);
        // The sandbox's test route: another amount, a failure; raced: two copies of the notification at once.
        return h.pay(this.channelPaymentId!, {
          result: event.payment === 'FAILED' ? 'FAILED' : 'SUCCESS',
          ...(event.payment === 'OTHER_AMOUNT' && { paidAmount: model.setup.amount.value + 1 }),
          notifyTimes: event.raced ? 2 : 1,
        });
      case 'PAY_SILENTLY':
        // Paid, and its notification held for an hour: only the workflow's query of the channel finds it.
        return h.pay(this.channelPaymentId!, { result: 'SUCCESS', notifyDelayMs: 3_600_000 });
      case 'CANCEL':
        return signed('POST', `/v1/orders/${this.orderId}/cancel`);
      case 'OPS_CLOSE':
        return this.ops('close', {});
      case 'OPS':
        return this.opsAction(event.action);
      case 'OPS_REFUND_DELIVERED': {
        const answer = await this.ops('refund', { revoke: true });
        this.others.add(reversalWorkflowId(this.orderId!));
        return answer;
      }
      case 'GAME_SERVER':
        h.gameServer.mode = REFERENCE_MODE[event.mode];
        return { status: 200, body: undefined };
      case 'DEADLINE':
        await sleep((model.deadlineAt ?? Date.now()) + GUARD_MS - Date.now());
        return { status: 200, body: undefined };
      case 'REVERSAL':
        if (this.setup.channel !== 'googleplay') throw new Error(`${event.kind} is not sent to the sandbox (it reverses nothing on its own)`);
        // Google voids the purchase (a refund in the Play Console, a chargeback by the payer's bank), then pushes it.
        googleplay.voidPurchase(this.paidToken!, { reason: event.cause === 'CHARGEBACK' ? VOIDED_REASON.CHARGEBACK : VOIDED_REASON.REMORSE });
        return this.pushVoided();
    }
  }

  /**
   * The payer buys at Google with the ids the order gave (FAILED: a pending purchase never paid, which
   * Google cancels; WRONG_PRODUCT: another product of the app); the game posts the receipt, or, where
   * the receipt route would wait for the order to move on (it may then pass a deadline), Google's push
   * tells us. Raced: the receipt and the push at once. A duplicate: Pub/Sub pushes the last one again.
   */
  private async payAtGoogle(event: Extract<ModelEvent, { kind: 'PAY' }>, outcome: Outcome): Promise<JsonResponse> {
    this.lastRoute = 'CALLBACK';
    if (event.duplicate) return this.deliver(googleplay.withToken(this.lastPush!));
    const ids = { obfuscatedAccountId: this.googlePayment!.obfuscatedAccountId, obfuscatedProfileId: this.googlePayment!.obfuscatedProfileId };
    if (event.payment === 'FAILED') {
      const { purchaseToken } = googleplay.purchase({ productId: GOOGLE_PRODUCT, ...ids, pending: true });
      googleplay.cancelPending(purchaseToken);
      this.lastPush = googleplay.canceledPush(purchaseToken);
      return this.deliver(this.lastPush);
    }
    const productId = event.payment === 'WRONG_PRODUCT' ? OTHER_GOOGLE_PRODUCT : GOOGLE_PRODUCT;
    const { purchaseToken } = googleplay.purchase({ productId, ...ids });
    this.paidToken = purchaseToken;
    this.lastPush = googleplay.purchasedPush(purchaseToken);
    if (receiptWaits(outcome)) return this.deliver(this.lastPush);
    this.lastRoute = 'RECEIPT';
    const receipt = h.signed(this.game, 'POST', `/v1/orders/${this.orderId}/receipts`, { purchaseToken, productId });
    if (!event.raced) return receipt;
    const [answer, pushed] = await Promise.all([receipt, this.deliver(this.lastPush)]);
    expect(['the raced push', pushed.status]).toEqual(['the raced push', 204]);
    return answer;
  }

  private async deliver(push: GooglePlayPush): Promise<JsonResponse> {
    return { status: await googleplay.deliver(push, `${h.api.url}/v1/callbacks/googleplay`), body: undefined };
  }

  private async pushVoided(): Promise<JsonResponse> {
    this.voidPushed = true;
    return this.deliver(googleplay.voidedPush(this.paidToken!));
  }

  /**
   * Google pushes every void, ours too (orders.refund): once our refund voided the purchase, its
   * notification arrives; the order is refunded already and must stay as it is.
   */
  async pushOurRefund(): Promise<void> {
    if (!this.paidToken || this.voidPushed || !googleplay.purchaseOf(this.paidToken)?.voided) return;
    const { status } = await this.pushVoided();
    expect(['the voided push of our refund', status]).toEqual(['the voided push of our refund', 204]);
    // The order's workflows have ended: the push starts a reversal workflow, which finds the order refunded.
    for (const deadline = Date.now() + SETTLE_MS; Date.now() < deadline; await sleep(50)) if (await this.allClosed()) return;
    throw new Error(`order ${this.orderId}: its workflows still run after the voided push of our refund`);
  }

  private opsAction(action: OpsAction): Promise<JsonResponse> {
    switch (action) {
      case 'RETRY_DELIVERY':
        return this.ops('retry-delivery', {});
      case 'REFUND':
        return this.ops('refund', {});
      case 'DELIVER':
        return this.ops('resolve', { action: 'DELIVER' });
      case 'RISK_APPROVE':
      case 'RISK_DENY':
        return this.ops('risk-decision', { decision: action === 'RISK_APPROVE' ? 'APPROVE' : 'DENY' });
    }
  }

  async status(): Promise<OrderStatus | undefined> {
    return this.orderId ? ((await h.orderStatus(this.orderId)) as OrderStatus | undefined) : undefined;
  }

  /** The late-payment and reversal workflows the system started for the order (a push may start one on an ended order). */
  async findOthers(): Promise<void> {
    for (const id of [latePaymentWorkflowId, reversalWorkflowId].map((f) => f(this.orderId ?? ''))) {
      if (this.orderId && (await h.client.workflow.getHandle(id).describe().then(() => true, () => false))) this.others.add(id);
    }
  }

  /** Whether the order's purchase workflow is still running. */
  async purchaseRunning(): Promise<boolean> {
    if (!this.orderId) return false;
    const status = await h.client.workflow.getHandle(purchaseWorkflowId(this.orderId)).describe().then((d) => d.status.name, () => 'NONE');
    return status === 'RUNNING';
  }

  async allClosed(): Promise<boolean> {
    if (!this.orderId) return true;
    await this.findOthers();
    for (const id of [purchaseWorkflowId(this.orderId), ...this.others]) {
      const status = await h.client.workflow.getHandle(id).describe().then((d) => d.status.name, () => 'NONE');
      if (status === 'RUNNING') return false;
    }
    return true;
  }
}

/** The HTTP answer the routes give for the model's outcome (docs/api.md): the routes' own mapping of refusals. */
function expectedAnswer(event: ModelEvent, before: ModelState, outcome: Outcome, world: World): { status: number; code?: string } {
  const { refusal } = outcome;
  switch (event.kind) {
    case 'CREATE': {
      const after = outcome.next[0]!;
      if (after.status === 'REJECTED') return after.reason === 'OUT_OF_STOCK' ? { status: 409, code: 'OUT_OF_STOCK' } : { status: 403, code: 'RISK_REJECTED' };
      return refusal === 'CHANNEL_UNAVAILABLE' ? { status: 502, code: 'CHANNEL_UNAVAILABLE' } : { status: 201 };
    }
    case 'CREATE_AGAIN':
      // The same key answers the same, from the workflow or, once it ended, from the books.
      return { status: world.firstAnswer!.status, code: world.firstAnswer!.body?.error?.code };
    case 'CREATE_CONFLICT':
      return { status: 409, code: 'IDEMPOTENCY_CONFLICT' };
    case 'PAY':
      // Google Play: the receipt answers the order, Pub/Sub's push is acknowledged 204; the sandbox's pay route 202.
      if (world.setup.channel === 'googleplay') return { status: world.lastRoute === 'RECEIPT' ? 200 : 204 };
      return { status: 202 };
    case 'PAY_SILENTLY':
      return { status: 202 };
    case 'REVERSAL':
      return { status: 204 };
    case 'CANCEL':
      // Cancelling a closed order answers it as it is.
      if (refusal === 'ORDER_FINAL' && before.status === 'CLOSED') return { status: 200 };
      return refusal ? { status: 409, code: 'ORDER_NOT_CANCELLABLE' } : { status: 200 };
    case 'OPS':
    case 'OPS_CLOSE':
      // An action the status does not offer, or the workflow refuses, is one refusal at the ops route.
      return refusal ? { status: 409, code: 'OPS_ACTION_NOT_ALLOWED' } : { status: 202 };
    case 'OPS_REFUND_DELIVERED':
      return { status: 202 };
    default:
      return { status: 200 };
  }
}

/** What level 2 can send: the model's check, and what the run's channel and the routes can express. */
function sendable(model: Readonly<Model>, event: ModelEvent): boolean {
  if (!canSend(model.setup, model.state, event)) return false;
  const { channel } = model;
  switch (event.kind) {
    case 'PAY':
      if (channel === 'googleplay') {
        // A store charges its product's price; the receipt and the push race only where the receipt route
        // answers at once (elsewhere it waits, and the payment goes by push alone).
        return event.payment !== 'OTHER_AMOUNT' && !(event.raced && receiptWaits(step(model.setup, model.state, event)));
      }
      // The sandbox takes a payment only while the order is payable, and sends duplicates itself (notifyTimes).
      return !event.duplicate && event.payment !== 'WRONG_PRODUCT' && model.state.status === 'PENDING_PAYMENT';
    case 'OPS':
      // The ops route's refund of a DELIVERED order is a reversal: OPS_REFUND_DELIVERED.
      return !(event.action === 'REFUND' && model.state.status === 'DELIVERED');
    case 'REVERSAL':
      // The sandbox reverses nothing on its own. Google voids a purchase (refund, or chargeback: reason 7);
      // it has no revocation, and its partial refunds are left to a person (not acted on: see the report).
      return channel === 'googleplay' && event.cause !== 'REVOKED' && !event.partial;
    default:
      return true;
  }
}

async function settle(world: World, outcome: Outcome): Promise<ModelState> {
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    const observed = await world.status();
    const candidate = await narrow(outcome.next, observed, () => world.purchaseRunning());
    if (candidate && (!candidate.ended || (await world.allClosed()))) return candidate;
    if (Date.now() > deadline) {
      throw new Error(`order ${world.orderId} is ${observed}, the model allows ${outcome.next.map((s) => `${s.status}${s.ended ? ' (ended)' : ''}`).join(' | ')}`);
    }
    await sleep(50);
  }
}

/** When the order's pending deadline passes, read from PostgreSQL (the order's expiry, its history). */
async function deadlineOf(model: Model, world: World): Promise<number | undefined> {
  const since = async (status: OrderStatus) =>
    (await h.db.orderHistory.findFirst({ where: { orderId: world.orderId!, status }, select: { at: true } }))?.at.getTime() ?? Date.now();
  switch (pendingDeadline(model.setup, model.state)) {
    case 'PAYMENT':
      return (await h.db.order.findUniqueOrThrow({ where: { id: world.orderId! }, select: { expiresAt: true } })).expiresAt.getTime();
    case 'DELIVERY':
      return (await since('DELIVERING')) + TIMING.DELIVERY_DEADLINE_MS;
    case 'REVIEW':
      return (await since('RISK_REVIEW')) + TIMING.RISK_REVIEW_TIMEOUT_MS;
    default:
      return undefined;
  }
}

/** The outcomes this file's runs reached, printed with the result (what the runs explored). */
const reached = new Map<string, number>();

async function afterSettled(model: Model, world: World, state: ModelState) {
  const { closing: _closing, ...settled } = state; // the settle saw the close through
  model.state = settled;
  if (model.channel === 'googleplay') await world.pushOurRefund();
  await world.findOthers();
  model.deadlineAt = world.orderId ? await deadlineOf(model, world) : undefined;
  await checkInvariants(model, world, false);
}

/** The order's facts from PostgreSQL, the channel's own books (the sandbox's, Google's) and the game server's log. */
async function orderFacts(world: World) {
  const orderId = world.orderId!;
  const order = await h.db.order.findUnique({ where: { id: orderId }, select: { status: true, amount: true } });
  const ourRefund = await h.db.refund.findUnique({ where: { orderId } });
  const history = await h.db.orderHistory.findMany({ where: { orderId }, orderBy: { id: 'asc' } });
  const grants = h.gameServer.grantsFor(orderId);
  const sandbox = world.setup.channel === 'sandbox' ? await sandboxMoney(world) : undefined;
  const google = world.setup.channel === 'googleplay' ? googleMoney(world) : undefined;
  const facts: OrderFacts = {
    orderId,
    status: order?.status ?? 'NONE',
    channelMoney: (sandbox ?? google)!.money,
    grantedDeliveries: new Set(grants.map((g) => g.deliveryId)).size,
  };
  return { facts, sandbox, google, ourRefund, history, amount: order?.amount };
}

/** The sandbox's payment: paid, refunded (its refunds' sum). */
async function sandboxMoney(world: World) {
  const payment = world.channelPaymentId ? await h.db.sandboxPayment.findUnique({ where: { id: world.channelPaymentId }, include: { refunds: true } }) : null;
  const money: OrderFacts['channelMoney'] = payment?.status === 'PAID' ? 'KEPT' : payment?.status === 'REFUNDED' ? 'RETURNED' : 'NONE';
  return { money, paid: payment?.paidAmount ?? 0, refunded: (payment?.refunds ?? []).reduce((sum, r) => sum + r.amount, 0) };
}

/** Google's purchase that paid the order: voided (Google returns the whole order), purchased (kept), consumed. */
function googleMoney(world: World) {
  const purchase = world.paidToken ? googleplay.purchaseOf(world.paidToken) : undefined;
  const money: OrderFacts['channelMoney'] = purchase?.voided ? 'RETURNED' : purchase?.purchaseState === PURCHASE_STATE.PURCHASED ? 'KEPT' : 'NONE';
  return { money, productId: purchase?.productId, consumed: purchase?.consumptionState === 1 && purchase.acknowledgementState === 1 };
}

async function checkInvariants(model: Model, world: World, settled: boolean) {
  if (!world.orderId) return;
  const { facts, sandbox, google, ourRefund, history, amount } = await orderFacts(world);
  // Every transition the books took is allowed (the schema keeps a status from coming twice).
  const statuses = history.map((row) => row.status as OrderStatus);
  for (let i = 1; i < statuses.length; i++) expect([statuses[i - 1], statuses[i], canTransition(statuses[i - 1]!, statuses[i]!)]).toEqual([statuses[i - 1], statuses[i], true]);
  // The journal: balanced entries, revenue per delivery, a reversal per refund, nothing owed past the deadline.
  expect(await ledgerViolations(h.sql, { deliveryDeadlineMs: TIMING.DELIVERY_DEADLINE_MS, graceMs: 10_000, gameId: world.game.gameId })).toEqual([]);
  // Never granted twice; DELIVERED ⇒ granted; granted otherwise only where the game server took the goods unanswered.
  expect(h.gameServer.ordersGrantedTwice.has(world.orderId)).toBe(false);
  expect(orderViolations(facts, exceptionsOf(model, world), settled)).toEqual([]);
  // Sandbox: refunded ≤ paid; our refund is the channel's refund.
  if (sandbox) {
    expect(sandbox.refunded).toBeLessThanOrEqual(sandbox.paid);
    if (ourRefund?.status === 'SUCCEEDED') expect(ourRefund.amount).toBe(sandbox.refunded);
  }
  if (google) {
    // Google returns the whole order: a refund we asked for voided the purchase that paid, for the price of
    // the product bought (another product's is our catalog's price of it).
    const bought = google.productId === OTHER_GOOGLE_PRODUCT ? OTHER_PRODUCT_PRICES.find((p) => p.region === world.setup.region)!.amount : amount;
    if (ourRefund && ourRefund.status !== 'FAILED') expect([ourRefund.status, ourRefund.amount, google.money]).toEqual([ourRefund.status, bought, 'RETURNED']);
    // Google hears of each delivery (consumed, so acknowledged) once the workflow is done, and of no other.
    if (facts.status === 'DELIVERED' && model.state.ended) expect(['DELIVERED, consumed', google.consumed]).toEqual(['DELIVERED, consumed', true]);
    if (google.consumed) expect(statuses).toContain('DELIVERED');
  }
}

function exceptionsOf(model: Model, world: World): OrderExceptions {
  return {
    goodsTakenUnanswered: model.state.goodsTakenUnanswered,
    goodsTakenBack: world.others.has(reversalWorkflowId(world.orderId!)),
    restingWhilePaid: ['MANUAL_REVIEW'],
  };
}

/** After the commands: every timer runs out, then the end invariants and the replay of every history. */
async function finish(model: Model, world: World) {
  while (pendingDeadline(model.setup, model.state) !== undefined) await passDeadline(model, world);
  const outcome = `${model.channel} ${[outcomeOf(model.state), reviewOutcomeOf(model.state)].filter(Boolean).join(' ') || `resting ${model.state.status}`}`;
  reached.set(outcome, (reached.get(outcome) ?? 0) + 1);
  if (!world.orderId) return;
  await checkInvariants(model, world, true);
  const ids = [purchaseWorkflowId(world.orderId), ...world.others];
  for (const id of ids) {
    const status = (await h.client.workflow.getHandle(id).describe()).status.name;
    expect([id, status]).toEqual([id, id === purchaseWorkflowId(world.orderId) && status === 'RUNNING' ? 'RUNNING' : 'COMPLETED']);
  }
  const histories = await Promise.all(ids.map(async (workflowId) => ({ workflowId, history: await h.client.workflow.getHandle(workflowId).fetchHistory() })));
  for await (const result of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) {
    expect([result.workflowId, result.error]).toEqual([result.workflowId, undefined]);
  }
  const purchase = h.client.workflow.getHandle(purchaseWorkflowId(world.orderId));
  if ((await purchase.describe()).status.name === 'RUNNING') await purchase.terminate('model run over');
}

async function passDeadline(model: Model, world: World) {
  const event: ModelEvent = { kind: 'DEADLINE' };
  const outcome = step(model.setup, model.state, event);
  await world.send(event, model, outcome);
  await afterSettled(model, world, await settle(world, outcome));
}

async function passDueDeadlines(model: Model, world: World) {
  while (model.deadlineAt !== undefined && Date.now() > model.deadlineAt - GUARD_MS - COMMAND_MS) await passDeadline(model, world);
}

class HttpCommand implements fc.AsyncCommand<Model, World> {
  constructor(readonly event: ModelEvent) {}
  check(model: Readonly<Model>) {
    return sendable(model, this.event);
  }
  async run(model: Model, world: World) {
    await passDueDeadlines(model, world);
    if (!sendable(model, this.event)) return;
    const started = Date.now();
    const before = model.state;
    const outcome = step(model.setup, before, this.event);
    const answer = await world.send(this.event, model, outcome);
    expect([this.toString(), answer]).toEqual([this.toString(), expectedAnswer(this.event, before, outcome, world)]);
    await afterSettled(model, world, await settle(world, outcome));
    if (env.MODEL_TRACE === '1') process.stdout.write(`  ${this.toString()} ${Date.now() - started} ms → ${model.state.status}\n`);
  }
  toString() {
    const { kind, ...rest } = this.event;
    const args = Object.values(rest).join(',');
    return args ? `${kind}(${args})` : kind;
  }
}

const setupArb: fc.Arbitrary<E2eSetup> = fc
  .record({
    channel: fc.constantFrom('sandbox' as const, 'googleplay' as const),
    risk: fc.constantFrom('ALLOW' as const, 'REVIEW' as const, 'DENY' as const),
    inStock: fc.boolean(),
    region: fc.constantFrom('CN' as const, 'JP' as const),
    queriesLostPayments: fc.boolean(),
    opens: fc.nat(9),
  })
  // Most orders open: a setup refused at once has little to explore.
  .map(({ opens, ...s }) => (opens < 8 ? { ...s, risk: s.risk === 'DENY' ? 'ALLOW' : s.risk, inStock: true } : s));

const E2E_EVENTS: ModelEvent[] = [
  { kind: 'CREATE_AGAIN' },
  { kind: 'CREATE_CONFLICT' },
  { kind: 'PAY', payment: 'EXACT', duplicate: false },
  { kind: 'PAY', payment: 'EXACT', duplicate: false, raced: true },
  { kind: 'PAY', payment: 'EXACT', duplicate: false },
  { kind: 'PAY', payment: 'OTHER_AMOUNT', duplicate: false },
  { kind: 'PAY', payment: 'FAILED', duplicate: false },
  { kind: 'PAY_SILENTLY' },
  { kind: 'CANCEL' },
  { kind: 'OPS_CLOSE' },
  ...(['RETRY_DELIVERY', 'REFUND', 'DELIVER', 'RISK_APPROVE', 'RISK_DENY'] as const).map((action) => ({ kind: 'OPS' as const, action })),
  { kind: 'OPS_REFUND_DELIVERED' },
  ...(['OK', 'FAILS', 'HANGS', 'TAKES_AND_FAILS'] as const).map((mode) => ({ kind: 'GAME_SERVER' as const, mode })),
  { kind: 'DEADLINE' },
  // Google Play only (sendable): the payer's other product, Pub/Sub's second push, the store's voids.
  { kind: 'PAY', payment: 'WRONG_PRODUCT', duplicate: false },
  { kind: 'PAY', payment: 'EXACT', duplicate: true },
  { kind: 'REVERSAL', cause: 'CHANNEL_REFUND' },
  { kind: 'REVERSAL', cause: 'CHARGEBACK' },
];

const commandsArb = fc
  .commands(
    [
      fc.constantFrom(...E2E_EVENTS).map((e) => new HttpCommand(e)),
      // A payment early, more often than its share: most branches start from a paid order.
      fc.constantFrom(...E2E_EVENTS.filter((e) => e.kind === 'PAY' || e.kind === 'PAY_SILENTLY')).map((e) => new HttpCommand(e)),
    ],
    { maxCommands: MAX_COMMANDS, ...(env.MODEL_REPLAY_PATH && { replayPath: env.MODEL_REPLAY_PATH }) },
  )
  .map((cmds) => [new HttpCommand({ kind: 'CREATE' }), ...cmds]);

async function runModel(setup: E2eSetup, commands: Iterable<fc.AsyncCommand<Model, World>>) {
  h.config.PAYMENT_QUERY_AFTER_MS = setup.queriesLostPayments ? TIMING.QUERY_AFTER_MS : 0;
  h.gameServer.mode = 'ok';
  const world = new World(setup);
  const model: Model = { channel: setup.channel, setup: modelSetup(setup), state: initialState };
  if (env.MODEL_TRACE === '1') process.stdout.write(`run ${JSON.stringify(setup)}\n`);
  try {
    await fc.asyncModelRun(() => ({ model, real: world }), commands);
    await finish(model, world);
  } catch (err) {
    const ids = world.orderId ? [purchaseWorkflowId(world.orderId), ...world.others] : [];
    if (err instanceof Error) err.message = `${err.message}\n  order ${world.orderId}, workflows: ${ids.join(', ') || 'none'}${await activitiesFailing(ids)}`;
    throw err;
  } finally {
    // Deliveries a hanging game server held go now, after the run's checks.
    h.gameServer.mode = 'ok';
    h.gameServer.releaseHanging();
  }
}

/** The activities the workflows keep retrying, with their last failure: what a stuck order waits on. */
async function activitiesFailing(workflowIds: string[]): Promise<string> {
  const lines: string[] = [];
  for (const id of workflowIds) {
    const pending = await h.client.workflow.getHandle(id).describe().then((d) => d.raw.pendingActivities ?? [], () => []);
    for (const a of pending) lines.push(`\n  ${id}: ${a.activityType?.name} attempt ${a.attempt}: ${a.lastFailure?.message ?? 'no failure yet'}`);
  }
  return lines.join('');
}

describe('the purchase end to end against its model (level 2)', () => {
  it(`keeps the money and the goods right over random HTTP call orders (${RUNS} runs × ≤${MAX_COMMANDS} commands)`, async () => {
    console.log(`model seed ${SEED}${env.MODEL_PATH ? ` path ${env.MODEL_PATH}` : ''} (replay: MODEL_SEED=${SEED} MODEL_PATH=<path>)`);
    const details = await fc.check(
      fc.asyncProperty(setupArb, commandsArb, (setup, commands) => runModel(setup, commands)),
      {
        seed: SEED,
        ...(env.MODEL_PATH && { path: env.MODEL_PATH }),
        numRuns: RUNS,
        ...(TIME_LIMIT_MS !== undefined && { interruptAfterTimeLimit: TIME_LIMIT_MS }),
        endOnFailure: env.MODEL_SHRINK === '0',
      },
    );
    console.log(`outcomes reached: ${[...reached].map(([o, n]) => `${o} ×${n}`).join(', ')}`);
    console.log(`model seed ${SEED}: ${details.numRuns} runs${details.interrupted ? ' (stopped at the time limit)' : ''}, ${details.failed ? 'FAILED' : 'passed'}`);
    if (details.failed && env.MODEL_FAILURES_FILE) {
      mkdirSync(path.dirname(env.MODEL_FAILURES_FILE), { recursive: true });
      appendFileSync(env.MODEL_FAILURES_FILE, `${JSON.stringify({ at: new Date().toISOString(), level: 2, seed: SEED, path: details.counterexamplePath, counterexample: fc.stringify(details.counterexample) })}\n`);
    }
    if (details.failed) throw new Error(`${fc.defaultReportMessage(details)}\nCause: ${details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)}`);
  }, 30 * 60_000);
});
