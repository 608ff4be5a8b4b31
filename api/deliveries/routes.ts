import { Router, type Response } from 'express';
import { decideAck, decideRevocationAck, type AckRefusal, type RevocationAckRefusal } from '../../domain/fulfillment/acks';
import type { Config } from '../../infra/config';
import type { Database } from '../../infra/db';
import type { PurchasesClient } from '../../infra/temporal';
import type { CatalogReader } from '../../store/catalog';
import { deliveryAck, recordDeliveryAck, type DeliveryAckRow } from '../../store/deliveries';
import { signedGameRequest, type SignedLocals } from '../auth';
import { ApiError, isDependencyOutage, parseBody } from '../errors';
import { recordRevocationAck, revocationAck, type RevocationAckRow } from '../../store/revocations';
import { deliveryAckBody, deliveryIdParam, revocationAckBody, revocationIdParam } from './schemas';

interface Deps {
  database: Database;
  config: Config;
  purchases: PurchasesClient;
  catalog: CatalogReader;
}

/**
 * The game's acknowledgements of broker deliveries and revocations: recorded on the delivery (revocation)
 * row first (the row settles the race with the deadline), then signalled to the order's workflow. Signed
 * like /v1/orders.
 */
export function deliveriesRouter({ database, config, purchases, catalog }: Deps): Router {
  const router = Router();
  const gameOf = (res: Response) => (res.locals as SignedLocals).game;

  router.post('/v1/deliveries/:deliveryId/ack', ...signedGameRequest({ database, config, catalog }), async (req, res) => {
    const id = deliveryIdParam.safeParse(String(req.params.deliveryId));
    const ack = parseBody(deliveryAckBody, req.body);
    if (!id.success) throw refused({ code: 'DELIVERY_NOT_FOUND' });
    const deliveryId = id.data;
    const asked = { gameId: gameOf(res).id, orderId: ack.orderId, result: ack.result };
    let row = await deliveryAck(database.sql, deliveryId);
    let decision = decideAck(stateOf(row), asked);
    if (decision === 'RECORD') {
      row = await recordDeliveryAck(database.sql, deliveryId, { result: ack.result, reason: ack.reason });
      // Whatever was written first (this ack, another one, the deadline's close) decides.
      decision = decideAck(stateOf(row), asked);
    }
    if (decision !== 'SIGNAL') throw refused(decision === 'RECORD' ? { code: 'DELIVERY_CLOSED' } : decision);
    try {
      await purchases.acknowledgeDelivery(ack.orderId, { deliveryId, result: ack.result, ...(row!.ack_reason && { reason: row!.ack_reason }) });
    } catch (err) {
      if (!isDependencyOutage(err)) throw err;
      throw new ApiError(503, 'TEMPORARILY_UNAVAILABLE', 'the ack is recorded but the order could not be told yet; send it again');
    }
    res.json({ deliveryId, orderId: ack.orderId, result: row!.ack_result, acknowledgedAt: row!.acknowledged_at });
  });

  router.post('/v1/revocations/:revocationId/ack', ...signedGameRequest({ database, config, catalog }), async (req, res) => {
    const id = revocationIdParam.safeParse(String(req.params.revocationId));
    const ack = parseBody(revocationAckBody, req.body);
    if (!id.success) throw refusedRevocation({ code: 'REVOCATION_NOT_FOUND' });
    const revocationId = id.data;
    const asked = { gameId: gameOf(res).id, orderId: ack.orderId };
    let row = await revocationAck(database.sql, revocationId);
    let decision = decideRevocationAck(revocationStateOf(row), asked);
    if (decision === 'RECORD') {
      row = await recordRevocationAck(database.sql, revocationId);
      decision = decideRevocationAck(revocationStateOf(row), asked);
    }
    // Recorded by now unless the row changed under us in a way no ack can (the mode is fixed): unknown.
    if (decision !== 'SIGNAL') throw refusedRevocation(decision === 'RECORD' ? { code: 'REVOCATION_NOT_FOUND' } : decision);
    try {
      await purchases.acknowledgeRevocation(ack.orderId, { revocationId });
    } catch (err) {
      if (!isDependencyOutage(err)) throw err;
      throw new ApiError(503, 'TEMPORARILY_UNAVAILABLE', 'the ack is recorded but the order could not be told yet; send it again');
    }
    res.json({ revocationId, orderId: ack.orderId, status: 'REVOKED', acknowledgedAt: row!.acknowledged_at });
  });
  return router;
}

const revocationStateOf = (row: RevocationAckRow | undefined) =>
  row && { orderId: row.order_id, gameId: row.game_id, mode: row.mode, acknowledged: row.acknowledged_at !== null };

const REVOCATION_MESSAGES: Record<RevocationAckRefusal['code'], string> = {
  REVOCATION_NOT_FOUND: 'no revocation of this game and order has this id',
  REVOCATION_NOT_AWAITING_ACK: 'an HTTP revocation: the game server\'s answer to the POST was its acknowledgement',
};

function refusedRevocation(refusal: RevocationAckRefusal): ApiError {
  return new ApiError(refusal.code === 'REVOCATION_NOT_FOUND' ? 404 : 409, refusal.code, REVOCATION_MESSAGES[refusal.code]);
}

const stateOf = (row: DeliveryAckRow | undefined) =>
  row && { orderId: row.order_id, gameId: row.game_id, mode: row.mode, ackResult: row.ack_result, closed: row.closed_at !== null };

const MESSAGES: Record<AckRefusal['code'], string> = {
  DELIVERY_NOT_FOUND: 'no delivery of this game and order has this id',
  DELIVERY_NOT_AWAITING_ACK: 'an HTTP delivery: the game server\'s answer to the POST was its acknowledgement',
  DELIVERY_ALREADY_ACKNOWLEDGED: 'the delivery was acknowledged with another result',
  DELIVERY_CLOSED: 'the delivery ended without an ack (refunded at its deadline or by an operator)',
};

function refused(refusal: AckRefusal): ApiError {
  const status = refusal.code === 'DELIVERY_NOT_FOUND' ? 404 : 409;
  return new ApiError(status, refusal.code, MESSAGES[refusal.code], 'result' in refusal ? { result: refusal.result } : undefined);
}
