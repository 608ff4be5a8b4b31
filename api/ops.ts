import express, { Router, type Request } from 'express';
import type { Config } from '../infra/config';
import type { Db } from '../infra/db';
import { PurchaseRefusedError, type PurchasesClient } from '../infra/purchases-client';
import type { OpsRequest } from '../workflows/definitions';
import { adminAuth } from './auth';
import { ApiError, parseBody } from './errors';
import { orderView } from './orders';
import { operatorHeader, opsActionBody, opsOrdersQuery, orderIdParam, resolveBody } from './schemas';

interface Deps {
  db: Db;
  config: Config;
  purchases: PurchasesClient;
}

/**
 * Operations: find stuck orders and act on them through their workflows. Every action is
 * audited with the operator's identity, whether the workflow accepts it or not.
 */
export function opsRouter({ db, config, purchases }: Deps): Router {
  const router = Router();
  router.use('/v1/ops', adminAuth(config), express.json({ limit: '16kb' }));

  router.get('/v1/ops/orders', async (req, res) => {
    operatorOf(req);
    const query = parseBody(opsOrdersQuery, req.query);
    const orders = await db.order.findMany({
      where: {
        status: query.status,
        gameId: query.gameId,
        ...(query.olderThanSeconds !== undefined
          ? { updatedAt: { lt: new Date(Date.now() - query.olderThanSeconds * 1000) } }
          : {}),
      },
      orderBy: { updatedAt: 'asc' },
      take: query.limit,
    });
    res.json({
      orders: orders.map((o) => ({
        orderId: o.id,
        gameId: o.gameId,
        userId: o.userId,
        sku: o.sku,
        status: o.status,
        statusReason: o.statusReason ?? undefined,
        amount: { currency: o.currency, value: o.amount },
        channel: o.channel,
        createdAt: o.createdAt.toISOString(),
        updatedAt: o.updatedAt.toISOString(),
        workflowId: `order-${o.id}`,
      })),
    });
  });

  const act = (path: string, action: (body: unknown) => Pick<OpsRequest, 'action' | 'reason'>) =>
    router.post(`/v1/ops/orders/:orderId/${path}`, async (req, res) => {
      const operator = operatorOf(req);
      const request = { ...action(req.body ?? {}), operator };
      const orderId = String(req.params.orderId);
      const order = orderIdParam.safeParse(orderId).success
        ? await db.order.findUnique({ where: { id: orderId }, select: { id: true } })
        : null;
      if (!order) throw new ApiError(404, 'ORDER_NOT_FOUND', `no order ${orderId}`);

      const audit = await db.opsAction.create({
        data: { orderId, operator, action: request.action, reason: request.reason, outcome: 'REQUESTED' },
      });
      try {
        await purchases.opsAction(orderId, request);
      } catch (err) {
        const refused = err instanceof PurchaseRefusedError;
        await db.opsAction.update({
          where: { id: audit.id },
          data: { outcome: refused ? 'REFUSED' : 'FAILED', detail: (err as Error).message },
        });
        if (refused) throw new ApiError(409, 'OPS_ACTION_NOT_ALLOWED', err.message, { orderId });
        throw err;
      }
      await db.opsAction.update({ where: { id: audit.id }, data: { outcome: 'ACCEPTED' } });
      res.status(202).json({ accepted: true, order: await orderView(db, orderId) });
    });

  act('retry-delivery', (body) => ({ action: 'RETRY_DELIVERY', ...parseBody(opsActionBody, body) }));
  act('refund', (body) => ({ action: 'REFUND', ...parseBody(opsActionBody, body) }));
  act('resolve', (body) => parseBody(resolveBody, body));
  return router;
}

function operatorOf(req: Request): string {
  const operator = operatorHeader.safeParse(req.get('x-operator'));
  if (!operator.success) throw new ApiError(400, 'VALIDATION_ERROR', 'the X-Operator header must name the operator');
  return operator.data;
}
