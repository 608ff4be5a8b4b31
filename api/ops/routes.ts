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
import { opsActionsFor, type OpsAction } from '../../domain/orders/ops-actions';
import type { OrderStatus } from '../../domain/orders/status';
import type { RiskDecision, RiskHit } from '../../domain/risk/rules';
import { listStoreSweeps } from '../../store/store-sweeps';
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
          ...(x.notice !== null && { notice: x.notice }),
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

  /**
   * One audited path for every action: the order must exist, the request is audited before anything
   * moves, an action its status does not offer is refused here (a settled order's workflow has ended
   * and could not answer), and the workflow's own refusal is audited and answered the same way.
   */
  const act = <Body extends { reason: string }>(
    path: string,
    offered: OpsAction,
    parse: (body: unknown) => Body,
    run: (order: Order, body: Body, operator: string) => Promise<unknown>,
    auditedAs: (body: Body) => string,
  ) =>
    router.post(`/v1/ops/orders/:orderId/${path}`, async (req, res) => {
      const { actor: operator, onBehalfOf } = actorOf(res, { required: true });
      const body = parse(req.body ?? {});
      const orderId = String(req.params.orderId);
      const order = orderIdParam.safeParse(orderId).success ? await findOrder(db, orderId) : null;
      if (!order) throw new ApiError(404, 'ORDER_NOT_FOUND', `no order ${orderId}`);
      const action = auditedAs(body);
      const audit = await auditRequested(db, { orderId, operator, onBehalfOf, action, reason: body.reason });
      const refuse = async (status: number, code: string, message: string, details: Record<string, unknown> = {}) => {
        await auditOutcome(db, audit, 'REFUSED', message);
        throw new ApiError(status, code, message, { orderId, ...details });
      };
      if (!opsActionsFor(order.status as OrderStatus).includes(offered)) {
        await refuse(409, 'OPS_ACTION_NOT_ALLOWED', `${action} is not allowed for an order in status ${order.status}`);
      }
      if (action === 'REFUND' && order.status === 'DELIVERED' && channels.get(order.channel)?.supports.refund === false) {
        // Refused here, before any reversal starts: a reversal that failed at the channel would hold the
        // order's reversal id, and the store's own refund notification for it would find it taken.
        await refuse(422, 'REFUND_NOT_SUPPORTED', `${order.channel} cannot refund through its API; the store refunds at the player's request`, { channel: order.channel });
      }
      try {
        await run(order, body, operator);
      } catch (err) {
        if (!(err instanceof PurchaseRefusedError)) {
          await auditOutcome(db, audit, 'FAILED', (err as Error).message);
          throw err;
        }
        await refuse(409, 'OPS_ACTION_NOT_ALLOWED', err.message);
      }
      await auditOutcome(db, audit, 'ACCEPTED');
      res.status(202).json({ accepted: true, order: await orderView(db, orderId) });
    });

  act('retry-delivery', 'RETRY_DELIVERY', (body) => parseBody(opsActionBody, body), (order, { reason }, operator) =>
    purchases.opsAction(order.id, { action: 'RETRY_DELIVERY', reason, operator }), () => 'RETRY_DELIVERY');
  act('refund', 'REFUND', (body) => parseBody(opsRefundBody, body), async (order, { reason, revoke }, operator) => {
    if (order.status !== 'DELIVERED') return purchases.opsAction(order.id, { action: 'REFUND', reason, operator });
    // Customer service refunds a delivered order: its purchase has ended; a reversal returns the
    // money through the channel and, when asked, tells the game to take the goods back.
    return purchases.reverse(
      order.id,
      { cause: 'OPS_REFUND', dedupeKey: `ops-refund:${order.id}`, operator, reason, revoke: revoke ?? true },
      purchaseTiming(config),
    );
  }, () => 'REFUND');
  act('resolve', 'RESOLVE', (body) => parseBody(resolveBody, body), (order, { action, reason }, operator) =>
    purchases.opsAction(order.id, { action, reason, operator }), ({ action }) => action);
  act('risk-decision', 'RISK_DECISION', (body) => parseBody(riskDecisionBody, body), async (order, { decision, reason }, operator) => {
    await purchases.opsAction(order.id, { action: decision === 'APPROVE' ? 'RISK_APPROVE' : 'RISK_DENY', reason, operator });
    await recordOperatorDecision(db, { orderId: order.id, decision, operator, reason });
  }, ({ decision }) => (decision === 'APPROVE' ? 'RISK_APPROVE' : 'RISK_DENY'));
  // The game's own cancel, through the order's workflow: it closes the channel payment first.
  act('close', 'CLOSE', (body) => parseBody(opsActionBody, body), (order) => purchases.cancel(order.id), () => 'CLOSE');
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

/** Risk's decision as operators read it (hits with their figures: counts and amounts, never an IP or a device). */
function riskView(r: NonNullable<OrderFacts['risk']>) {
  return {
    decision: r.decision as RiskDecision['decision'],
    reasons: r.reasons,
    hits: r.hits as unknown as RiskHit[],
    decidedAt: r.decidedAt.toISOString(),
    ...(r.operatorDecision !== null && {
      operatorDecision: {
        decision: r.operatorDecision as 'APPROVE' | 'DENY',
        operator: r.operator ?? '',
        reason: r.operatorReason ?? '',
        at: (r.operatorDecidedAt ?? r.decidedAt).toISOString(),
      },
    }),
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
    ...(f.risk && { risk: riskView(f.risk) }),
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
