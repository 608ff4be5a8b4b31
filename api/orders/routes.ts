import { MINOR_SPENDING_LIMIT, isMinor, type AgeBand } from '../../domain/risk/minor-caps';
import { piiKeyring, sealOrderPii } from '../../infra/pii';
import { Router, type Response } from 'express';
import type { ChannelRegistry } from '../../channels/registry';
import { ReceiptRejectedError } from '../../channels/types';
import { orderIdFor, requestHash } from '../../domain/ids';
import { priceOrder, quoteOrder, type Quoted } from '../../domain/orders/quote';
import { REASONS } from '../../domain/orders/status';
import { purchaseTiming, type Config } from '../../infra/config';
import type { Database, Db } from '../../infra/db';
import type { ChannelRouter } from '../../routing/router';
import { PurchaseRefusedError, type PurchasesClient } from '../../infra/temporal';
import type { CatalogReader } from '../../store/catalog';
import { findOrder, findOrderOfGame, orderWithHistory } from '../../store/orders';
import { claimStoreTransaction } from '../../store/payments';
import { takeChannelEvent } from '../../notifications/intake';
import { attemptsOf } from '../../store/routing';
import type { OrderRouting, OrderSnapshot } from '../../workflows/contract';
import { signedGameRequest, type SignedLocals } from '../auth';
import { ApiError, parseBody } from '../errors';
import { requestIdOf, requestLog } from '../request-context';
import { createOrderBody, idempotencyKey, orderIdParam, receiptBody } from './schemas';

interface Deps {
  database: Database;
  config: Config;
  channels: ChannelRegistry;
  purchases: PurchasesClient;
  catalog: CatalogReader;
  router: ChannelRouter;
}

/** The order center's game-server API: create, read and cancel orders. */
export function ordersRouter({ database, config, channels, purchases, catalog, router: channelRouter }: Deps): Router {
  const { db } = database;
  const router = Router();
  const signed = signedGameRequest({ database, config, catalog });
  const gameOf = (res: Response) => (res.locals as SignedLocals).game;

  router.post('/v1/orders', ...signed, async (req, res) => {
    const game = gameOf(res);
    const keyHeader = idempotencyKey.safeParse(req.get('idempotency-key'));
    if (!keyHeader.success) {
      throw new ApiError(400, 'VALIDATION_ERROR', 'the Idempotency-Key header is required (1-128 characters)');
    }
    const body = parseBody(createOrderBody, req.body);
    const orderId = orderIdFor(game.id, keyHeader.data);
    const hash = requestHash(body);
    // A reused key with a different body is refused by the workflow (or, once it ended, by the books below).
    const request = { ...body, channelType: body.channel ? channels.get(body.channel)?.type : undefined };
    const priced = quoted(priceOrder(await catalog.item(body.sku), game, request, new Date()));
    // The named account if it can take this order, else the router's choice with its fallbacks.
    const routing = await channelRouter.choose(priced.route);
    const terms = quoted(quoteOrder(priced, routing, routing.chosen ? channels.get(routing.chosen) : undefined));

    let snapshot: OrderSnapshot | undefined;
    try {
      snapshot = await purchases.startPurchase({
        ...terms,
        orderId,
        gameId: game.id,
        userId: body.userId,
        idempotencyKey: keyHeader.data,
        requestHash: hash,
        // Sealed before it enters the workflow's history; the books keep these forms only.
        ...sealOrderPii(piiKeyring(config), { clientIp: body.clientIp, deviceId: body.deviceId }),
        platform: body.platform,
        ...ageBandOf(body.ageBand ?? game.defaultAgeBand),
        ...(body.consumptionDataConsent !== undefined && { consumptionDataConsent: body.consumptionDataConsent }),
        requestId: requestIdOf(res),
        timing: purchaseTiming(config),
      });
    } catch (err) {
      if (err instanceof PurchaseRefusedError) throw refusedToApiError(err);
      throw err;
    }
    if (!snapshot) {
      // The order's workflow already finished: answer from the books.
      const order = await findOrder(db, orderId);
      if (!order) throw new ApiError(503, 'TEMPORARILY_UNAVAILABLE', 'the order is being created, retry');
      if (order.requestHash !== hash) throw idempotencyConflict();
      snapshot = {
        orderId,
        status: order.status as OrderSnapshot['status'],
        reason: order.statusReason ?? undefined,
        amount: order.amount,
        channel: order.channel,
        expiresAt: order.expiresAt.toISOString(),
      };
    }
    // The same key gets the same answer, from the workflow or from the books once it has ended:
    // an order closed because its channel failed was never payable.
    if (snapshot.status === 'CLOSED' && snapshot.reason === REASONS.channelUnavailable) throw channelUnavailable();
    if (snapshot.status === 'REJECTED') {
      if (snapshot.reason === REASONS.outOfStock) {
        throw new ApiError(409, 'OUT_OF_STOCK', `${body.sku} is sold out`, { orderId });
      }
      const refusal = ALLOWANCE_REFUSALS[snapshot.reason ?? ''];
      if (refusal) {
        const details = { ...((await findOrder(db, orderId))?.statusDetails as object | null), orderId };
        throw new ApiError(refusal.status, snapshot.reason!, refusal.message(body.sku), details);
      }
      if (snapshot.reason === MINOR_SPENDING_LIMIT) {
        const details = { ...((await findOrder(db, orderId))?.statusDetails as object | null), orderId };
        throw new ApiError(403, MINOR_SPENDING_LIMIT, "the order is over the minor's spending cap", details);
      }
      throw new ApiError(403, 'RISK_REJECTED', 'the order was rejected by risk control', { orderId });
    }
    res.status(201).json({
      orderId: snapshot.orderId,
      status: snapshot.status,
      amount: snapshot.amount,
      channel: snapshot.channel,
      payment: snapshot.payment,
      expiresAt: snapshot.expiresAt,
      // Only an item with a bonus may have claimed it: other orders are not read back.
      ...(terms.allowances?.bonusGrants && (await bonusOf(db, orderId))),
    });
  });

  router.get('/v1/orders/:orderId', ...signed, async (req, res) => {
    const order = await ownedOrder(db, gameOf(res).id, String(req.params.orderId));
    res.json(await orderView(db, order.id));
  });

  /**
   * A store's proof of purchase (App Store signed transaction, Google Play purchase token): verified
   * with the store, claimed for this order only, then handed to the order's workflow like the
   * channel's notification; answers the order once it has moved on.
   */
  router.post('/v1/orders/:orderId/receipts', ...signed, async (req, res) => {
    const { id } = await ownedOrder(db, gameOf(res).id, String(req.params.orderId));
    const receipt = parseBody(receiptBody, req.body);
    const order = (await findOrder(db, id))!;
    const adapter = channels.get(order.channel);
    if (!adapter?.supports.receipts) {
      throw new ApiError(422, 'RECEIPTS_NOT_SUPPORTED', `channel ${order.channel} takes no receipts: its notifications pay its orders`);
    }
    let event;
    try {
      event = await adapter.verifyReceipt(receipt, { orderId: id, amount: order.amount, storeProductId: order.storeProductId ?? undefined });
    } catch (err) {
      if (err instanceof ReceiptRejectedError) {
        const code = err.code === 'WRONG_PRODUCT' ? 'RECEIPT_PRODUCT_MISMATCH' : 'INVALID_RECEIPT';
        throw new ApiError(422, code, err.message, { reason: err.code });
      }
      throw err;
    }
    if (!event.channelTradeNo) throw new ApiError(422, 'INVALID_RECEIPT', 'the receipt names no transaction');
    if ((await claimStoreTransaction(database.sql, adapter.channelId, event.channelTradeNo, id)) === 'ANOTHER_ORDER') {
      throw new ApiError(409, 'RECEIPT_ALREADY_USED', 'this store transaction paid another order');
    }
    await takeChannelEvent(
      { database, config, purchases, log: requestLog(res) },
      { channel: adapter.channelId, event, source: 'RECEIPT', rawBody: JSON.stringify({ source: 'receipt', event }), orderId: id },
    );
    await settled(db, id, RECEIPT_WAIT_MS);
    res.json(await orderView(db, id));
  });

  router.post('/v1/orders/:orderId/cancel', ...signed, async (req, res) => {
    const order = await ownedOrder(db, gameOf(res).id, String(req.params.orderId));
    if (order.status === 'PENDING_PAYMENT') {
      try {
        await purchases.cancel(order.id);
      } catch (err) {
        if (err instanceof PurchaseRefusedError) throw refusedToApiError(err);
        throw err;
      }
    } else if (order.status !== 'CLOSED') {
      throw new ApiError(409, 'ORDER_NOT_CANCELLABLE', `an order in status ${order.status} cannot be cancelled`);
    }
    res.json(await orderView(db, order.id));
  });

  return router;
}

/** Refusals by the user's allowances, stored with the order (the same key answers the same). */
const ALLOWANCE_REFUSALS: Record<string, { status: 409 | 422; message: (sku: string) => string }> = {
  [REASONS.alreadyOwned]: { status: 409, message: (sku) => `the user already owns ${sku}` },
  [REASONS.purchaseLimitReached]: { status: 409, message: (sku) => `the user's purchase limit of ${sku} is reached` },
  [REASONS.quantityNotAllowed]: { status: 422, message: (sku) => `the user's unpaid orders of ${sku} hold as many units as allowed: pay or cancel one first` },
};

/** How long a receipt call waits for the order to move on before it answers the order as it is. */
const RECEIPT_WAIT_MS = 5_000;

async function settled(db: Db, orderId: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const order = await findOrder(db, orderId);
    if (order && !['PENDING_PAYMENT', 'PAID', 'DELIVERING'].includes(order.status)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The quote's value, or its refusal as the API answers it. */
function quoted<T>(quote: Quoted<T>): T {
  if (quote.outcome === 'REFUSED') {
    const { status, code, message, details } = quote.refusal;
    throw new ApiError(status, code, message, details);
  }
  return quote.value;
}

const idempotencyConflict = () =>
  new ApiError(409, 'IDEMPOTENCY_CONFLICT', 'this idempotency key was used for a different request');

const channelUnavailable = () =>
  new ApiError(
    502,
    'CHANNEL_UNAVAILABLE',
    'the payment channel could not open the payment and the order was closed; start again with a new Idempotency-Key',
  );

function refusedToApiError(err: PurchaseRefusedError): ApiError {
  switch (err.type) {
    case 'IDEMPOTENCY_CONFLICT':
      return idempotencyConflict();
    case 'ORDER_NOT_CANCELLABLE':
      return new ApiError(409, 'ORDER_NOT_CANCELLABLE', err.message);
    case 'CHANNEL_UNAVAILABLE':
      return channelUnavailable();
    case 'DATA_ERROR':
      return new ApiError(422, 'INVALID_ORDER_DATA', 'the order could not be stored as given; nothing was taken');
    default:
      return new ApiError(500, 'INTERNAL', err.message);
  }
}

async function ownedOrder(db: Db, gameId: string, orderId: string) {
  // Another game's order is indistinguishable from a missing one.
  const order = orderIdParam.safeParse(orderId).success ? await findOrderOfGame(db, gameId, orderId) : null;
  if (!order) throw new ApiError(404, 'ORDER_NOT_FOUND', `no order ${orderId}`);
  return order;
}

export async function orderView(db: Db, orderId: string) {
  const order = await orderWithHistory(db, orderId);
  return {
    orderId: order.id,
    status: order.status,
    userId: order.userId,
    sku: order.sku,
    quantity: order.quantity,
    amount: order.amount,
    channel: order.channel,
    createdAt: order.createdAt.toISOString(),
    expiresAt: order.expiresAt.toISOString(),
    paidAt: order.paidAt?.toISOString(),
    deliveredAt: order.deliveredAt?.toISOString(),
    ...(order.bonusGrants !== null && { bonusGrants: order.bonusGrants }),
    history: order.history.map((h) => ({ status: h.status, at: h.at.toISOString(), reason: h.reason ?? undefined })),
    ...(order.routing !== null && { routing: await routingView(db, order.id, order.routing as unknown as OrderRouting) }),
  };
}

/** `{ bonusGrants }` when the order claimed its first-purchase bonus. */
async function bonusOf(db: Db, orderId: string) {
  const bonusGrants = (await findOrder(db, orderId))?.bonusGrants;
  return bonusGrants ? { bonusGrants } : {};
}

/** The router's decision as stored with the order, and each attempt to open its payment. */
async function routingView(db: Db, orderId: string, decision: OrderRouting) {
  const attempts = await attemptsOf(db, orderId);
  const failedOver = attempts.filter((a) => a.outcome !== 'OPENED').map((a) => a.channel);
  return {
    candidates: decision.candidates,
    chosen: decision.chosen!,
    ...(decision.reason && { reason: decision.reason }),
    ...(failedOver.length > 0 && { failedOver }),
    attempts: attempts.map((a) => ({ attempt: a.attempt, channel: a.channel, outcome: a.outcome, at: a.at.toISOString(), error: a.error ?? undefined })),
  };
}

/** A minor's band rides with the order (an adult's is left out: today's orders and histories stay as they were). */
function ageBandOf(band: string): { ageBand?: AgeBand } {
  return isMinor(band as AgeBand) ? { ageBand: band as AgeBand } : {};
}
