import { Router, type Response } from 'express';
import type { ChannelRegistry } from '../../channels/registry';
import { orderIdOfWorkflow, purchaseWorkflowId } from '../../domain/ids';
import { purchaseTiming, type Config } from '../../infra/config';
import type { Database } from '../../infra/db';
import { PurchaseRefusedError, type PurchasesClient } from '../../infra/temporal';
import { failingSince } from '../../store/activity-failures';
import { auditOutcome, auditRequested } from '../../store/ops';
import { recordOperatorDecision } from '../../store/risk';
import { listRevocations } from '../../store/revocations';
import { findOrder, listOrders, searchOrders, type Order } from '../../store/orders';
import { orderFacts, type OrderFacts } from '../../store/order-story';
import { timeline } from '../../domain/orders/timeline';
import { opsActionsFor } from '../../domain/orders/ops-actions';
import type { OrderStatus } from '../../domain/orders/status';
import { listStoreSweeps } from '../../store/store-sweeps';
import type { OpsRequest } from '../../workflows/contract';
import { actorOf, operatorAuth } from '../auth';
import { ApiError, parseBody } from '../errors';
import { jsonBody } from '../shared/body';
import { orderView } from '../orders/routes';
import { orderIdParam } from '../orders/schemas';
import { opsActionBody, opsOrdersQuery, opsRefundBody, resolveBody, revocationsQuery, riskDecisionBody, storeSweepsQuery, stuckQuery } from './schemas';

interface Deps {
  database: Database;
  config: Config;
  purchases: PurchasesClient;
  channels: ChannelRegistry;
}

/**
 * Operations: find stuck orders and act on them through their workflows. Every action is
 * audited with the operator's identity, whether the workflow accepts it or not.
 */
export function opsRouter({ database, config, purchases, channels }: Deps): Router {
  const { db } = database;
  const router = Router();
  router.use('/v1/ops', operatorAuth(config), ...jsonBody('16kb'));

  router.get('/v1/ops/orders', async (req, res) => {
    operatorOf(res);
    const query = parseBody(opsOrdersQuery, req.query);
    const { q, userId, channel, from, to, after } = query;
    // The console's search (any of its filters): newest first, keyset paged; otherwise the stuck-order view.
    if (query.sort === 'newest' || (query.sort === undefined && (q ?? userId ?? channel ?? from ?? to ?? after))) {
      const orders = await searchOrders(db, {
        q,
        status: query.status,
        gameId: query.gameId,
        userId,
        channel,
        from: from ? new Date(from) : undefined,
        to: to ? new Date(to) : undefined,
        after: after ? { createdAt: new Date(after.slice(0, after.indexOf('_'))), id: after.slice(after.indexOf('_') + 1) } : undefined,
        limit: query.limit,
      });
      const last = orders.length === query.limit ? orders[orders.length - 1] : undefined;
      res.json({ orders: orders.map(opsSummary), ...(last && { next: `${last.createdAt.toISOString()}_${last.id}` }) });
      return;
    }
    const orders = await listOrders(db, {
      status: query.status,
      gameId: query.gameId,
      unchangedSince: query.olderThanSeconds !== undefined ? new Date(Date.now() - query.olderThanSeconds * 1000) : undefined,
      limit: query.limit,
    });
    res.json({ orders: orders.map(opsSummary) });
  });

  router.get('/v1/ops/orders/:orderId', async (req, res) => {
    operatorOf(res);
    const orderId = String(req.params.orderId);
    const facts = orderIdParam.safeParse(orderId).success ? await orderFacts(database, orderId) : null;
    if (!facts) throw new ApiError(404, 'ORDER_NOT_FOUND', `no order ${orderId}`);
    res.json(orderStory(facts));
  });

  router.get('/v1/ops/stuck', async (req, res) => {
    operatorOf(res);
    const query = parseBody(stuckQuery, req.query);
    const rows = await failingSince(db, new Date(Date.now() - query.olderThanSeconds * 1000), query.limit);
    res.json({
      stuck: rows.map((r) => ({
        workflowId: r.workflowId,
        ...(orderIdOfWorkflow(r.workflowId) && { orderId: orderIdOfWorkflow(r.workflowId) }),
        activity: r.activityType,
        attempts: r.attempts,
        failingSince: r.firstFailedAt.toISOString(),
        lastFailedAt: r.lastFailedAt.toISOString(),
        lastError: r.lastError,
      })),
    });
  });

  router.get('/v1/ops/store-sweeps', async (req, res) => {
    operatorOf(res);
    const query = parseBody(storeSweepsQuery, req.query);
    const to = query.to ?? new Date().toISOString();
    const from = query.from ?? new Date(Date.parse(to) - 7 * 86_400_000).toISOString();
    if (Date.parse(from) > Date.parse(to)) throw new ApiError(400, 'INVALID_RANGE', 'from is after to');
    const rows = await listStoreSweeps(database.sql, { channel: query.channel, from, to, limit: query.limit });
    res.json({
      sweeps: rows.map((r) => ({
        sweepId: r.id,
        channel: r.channel,
        pass: r.pass,
        windowStart: r.windowStart,
        windowEnd: r.windowEnd,
        status: r.status,
        pages: r.pages,
        items: { seen: r.seen, known: r.known, recovered: r.recovered, failed: r.failed },
        recoveredByKind: Object.fromEntries(
          [...new Set(r.recoveries.map((x) => x.kind))].map((kind) => [kind, r.recoveries.filter((x) => x.kind === kind).length]),
        ),
        ...(r.error !== null && { error: r.error }),
        startedAt: r.startedAt,
        ...(r.finishedAt !== null && { finishedAt: r.finishedAt }),
        recoveries: r.recoveries.map((x) => ({
          ...(x.orderId !== null && { orderId: x.orderId }),
          kind: x.kind,
          dedupeKey: x.dedupeKey,
          ...(x.firstTriedAt !== null && { firstTriedAt: x.firstTriedAt }),
          recoveredAt: x.recoveredAt,
        })),
      })),
    });
  });

  router.get('/v1/ops/revocations', async (req, res) => {
    operatorOf(res);
    const query = parseBody(revocationsQuery, req.query);
    const rows = await listRevocations(db, { status: query.status, limit: query.limit });
    res.json({
      revocations: rows.map((r) => ({
        revocationId: r.id,
        orderId: r.orderId,
        reason: r.reason,
        status: r.status,
        attempts: r.attempts,
        ...(r.lastError !== null && { lastError: r.lastError }),
        createdAt: r.createdAt.toISOString(),
        ...(r.revokedAt !== null && { revokedAt: r.revokedAt.toISOString() }),
      })),
    });
  });

  const act = (
    path: string,
    action: (body: unknown) => Pick<OpsRequest, 'action' | 'reason'> & { revoke?: boolean },
  ) =>
    router.post(`/v1/ops/orders/:orderId/${path}`, async (req, res) => {
      const { actor: operator, onBehalfOf } = actorOf(res, { required: true });
      const { revoke, ...asked } = action(req.body ?? {});
      const request = { ...asked, operator };
      const orderId = String(req.params.orderId);
      const order = orderIdParam.safeParse(orderId).success ? await findOrder(db, orderId) : null;
      if (!order) throw new ApiError(404, 'ORDER_NOT_FOUND', `no order ${orderId}`);

      const audit = await auditRequested(db, { orderId, operator, onBehalfOf, action: request.action, reason: request.reason });
      const refundsDelivered = request.action === 'REFUND' && order.status === 'DELIVERED';
      if (refundsDelivered && channels.get(order.channel)?.supports.refund === false) {
        // Refused here, before any reversal starts: a reversal that failed at the channel would hold the
        // order's reversal id, and the store's own refund notification for it would find it taken.
        const message = `${order.channel} cannot refund through its API; the store refunds at the player's request`;
        await auditOutcome(db, audit, 'REFUSED', message);
        throw new ApiError(422, 'REFUND_NOT_SUPPORTED', message, { orderId, channel: order.channel });
      }
      try {
        if (refundsDelivered) {
          // Customer service refunds a delivered order: its purchase has ended; a reversal returns the
          // money through the channel and, when asked, tells the game to take the goods back.
          await purchases.reverse(
            orderId,
            { cause: 'OPS_REFUND', dedupeKey: `ops-refund:${orderId}`, operator, reason: request.reason, revoke: revoke ?? true },
            purchaseTiming(config),
          );
        } else {
          await purchases.opsAction(orderId, request);
        }
      } catch (err) {
        const refused = err instanceof PurchaseRefusedError;
        await auditOutcome(db, audit, refused ? 'REFUSED' : 'FAILED', (err as Error).message);
        if (refused) throw new ApiError(409, 'OPS_ACTION_NOT_ALLOWED', err.message, { orderId });
        throw err;
      }
      await auditOutcome(db, audit, 'ACCEPTED');
      if (request.action === 'RISK_APPROVE' || request.action === 'RISK_DENY') {
        await recordOperatorDecision(db, { orderId, decision: request.action === 'RISK_APPROVE' ? 'APPROVE' : 'DENY', operator, reason: request.reason });
      }
      res.status(202).json({ accepted: true, order: await orderView(db, orderId) });
    });

  router.post('/v1/ops/orders/:orderId/close', async (req, res) => {
    const { actor: operator, onBehalfOf } = actorOf(res, { required: true });
    const { reason } = parseBody(opsActionBody, req.body ?? {});
    const orderId = String(req.params.orderId);
    const order = orderIdParam.safeParse(orderId).success ? await findOrder(db, orderId) : null;
    if (!order) throw new ApiError(404, 'ORDER_NOT_FOUND', `no order ${orderId}`);
    const audit = await auditRequested(db, { orderId, operator, onBehalfOf, action: 'CLOSE', reason });
    if (!opsActionsFor(order.status as OrderStatus).includes('CLOSE')) {
      // Checked here: the workflow of a settled order has ended and could not answer its update.
      const message = `CLOSE is not allowed for an order in status ${order.status}`;
      await auditOutcome(db, audit, 'REFUSED', message);
      throw new ApiError(409, 'OPS_ACTION_NOT_ALLOWED', message, { orderId });
    }
    try {
      // The game's own cancel, through the order's workflow: it closes the channel payment first.
      await purchases.cancel(orderId);
    } catch (err) {
      const refused = err instanceof PurchaseRefusedError;
      await auditOutcome(db, audit, refused ? 'REFUSED' : 'FAILED', (err as Error).message);
      if (refused) throw new ApiError(409, 'OPS_ACTION_NOT_ALLOWED', err.message, { orderId });
      throw err;
    }
    await auditOutcome(db, audit, 'ACCEPTED');
    res.status(202).json({ accepted: true, order: await orderView(db, orderId) });
  });

  act('retry-delivery', (body) => ({ action: 'RETRY_DELIVERY', ...parseBody(opsActionBody, body) }));
  act('refund', (body) => ({ action: 'REFUND', ...parseBody(opsRefundBody, body) }));
  act('resolve', (body) => parseBody(resolveBody, body));
  act('risk-decision', (body) => {
    const { decision, reason } = parseBody(riskDecisionBody, body);
    return { action: decision === 'APPROVE' ? 'RISK_APPROVE' : 'RISK_DENY', reason };
  });
  return router;
}

/** Operations name who acts: a named token does, the shared ADMIN_TOKEN needs X-Operator. */
function operatorOf(res: Response): string {
  return actorOf(res, { required: true }).actor;
}

function opsSummary(o: Order) {
  return {
    orderId: o.id,
    gameId: o.gameId,
    userId: o.userId,
    sku: o.sku,
    status: o.status,
    statusReason: o.statusReason ?? undefined,
    amount: o.amount,
    channel: o.channel,
    createdAt: o.createdAt.toISOString(),
    updatedAt: o.updatedAt.toISOString(),
    workflowId: purchaseWorkflowId(o.id),
  };
}

/** The order page in one answer: debits are positive postings, credits negative (domain/ledger). */
function orderStory(f: OrderFacts) {
  const { order } = f;
  return {
    order: {
      ...opsSummary(order),
      quantity: order.quantity,
      region: order.region,
      ...(order.paid && { paid: order.paid }),
      ...(order.channelPaymentId && { channelPaymentId: order.channelPaymentId }),
      ...(order.channelTxnId && { channelTradeNo: order.channelTxnId }),
      expiresAt: order.expiresAt.toISOString(),
    },
    actions: opsActionsFor(order.status as OrderStatus),
    timeline: timeline({ ...f, createdAt: order.createdAt, amount: order.amount, routing: order.routing as Parameters<typeof timeline>[0]['routing'] }),
    opsActions: f.opsActions.map((a) => ({
      operator: a.operator,
      action: a.action,
      reason: a.reason,
      outcome: a.outcome,
      ...(a.detail !== null && { detail: a.detail }),
      at: a.createdAt.toISOString(),
    })),
    ledger: f.entries.map((e) => ({
      eventId: e.event_id,
      kind: e.kind,
      postings: e.postings.map((p) => ({ account: p.account, currency: p.currency, debit: Math.max(p.amount, 0), credit: Math.max(-p.amount, 0) })),
    })),
    differences: f.differences.map((d) => ({
      differenceId: d.id,
      runId: d.runId,
      kind: d.kind,
      resolution: d.resolution,
      ...(d.channelTradeNo !== null && { channelTradeNo: d.channelTradeNo }),
      ...(d.currency !== null && { currency: d.currency }),
      ...(d.ours !== null && { ours: d.ours }),
      ...(d.theirs !== null && { theirs: d.theirs }),
    })),
  };
}
