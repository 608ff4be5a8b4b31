import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { refundIdFor } from '../domain/ids';
import type { Money } from '../domain/money';
import { REASONS, canTransition, type OrderStatus } from '../domain/orders/status';
import { gameServerClientFor } from '../fulfillment/registry';
import { credentialsKeyring } from '../infra/credentials';
import { openGameSecret } from '../store/catalog';
import { journalChannelReversal, journalRefunded } from '../store/journal';
import { readOrder } from '../store/orders';
import { createPendingRefund, findRefund, recordRefundAccepted } from '../store/refunds';
import { openRevocation, recordPublishedRevocation, recordRevocationAttempt, revocationIdFor, revocationTarget } from '../store/revocations';
import { ACK_TIMEOUT_MS, brokerMessageId, type DeliveryMode } from '../domain/fulfillment/modes';
import { dropCardDays } from '../store/monthly-cards';
import { releaseStock } from '../store/stock';
import { releaseMinorHold } from '../store/minor-caps';
import { releaseAllowances } from '../store/allowances';
import type { ChannelReversal } from '../workflows/contract';
import type { ActivityDeps } from './deps';
import { wakeCardOfReversedOrder } from './monthly-cards';
import { moveOrder, orderBooks } from './orders';
import { refundAtChannel, stillHeld } from './payments';

const REASON_OF: Record<ChannelReversal['cause'], string> = {
  CHANNEL_REFUND: REASONS.channelRefund,
  CHARGEBACK: REASONS.chargeback,
  REVOKED: REASONS.revoked,
  OPS_REFUND: REASONS.opsRefund,
};
/** What the game is told, in its revocation: why the goods go back. */
const REVOCATION_REASON: Record<ChannelReversal['cause'], 'REFUND' | 'CHARGEBACK' | 'REVOKED'> = {
  CHANNEL_REFUND: 'REFUND',
  OPS_REFUND: 'REFUND',
  CHARGEBACK: 'CHARGEBACK',
  REVOKED: 'REVOKED',
};

/** How a revocation attempt ends: taken back (or left for operations), or published and awaiting the game's ack. */
export type RevocationAttempt = 'REVOKED' | 'NO_REVOKE_URL' | { awaitingAck: true; ackTimeoutMs: number };

export interface ReversalOutcome {
  /** The order's status after the reversal (absent: nothing to reverse, e.g. it was never paid). */
  status?: OrderStatus;
  reason?: string;
  /** Set when the game must take goods back. */
  revocationId?: string;
}

/** Reversals after the fact: the channel or an operator returns a paid order's money; the goods go back. */
export function createReversalActivities({ database, channels, config, riskCounters }: ActivityDeps) {
  const { db, sql } = database;
  const books = orderBooks(database, config);
  const gameServers = gameServerClientFor(config);
  return {
    /**
     * Ends the order REFUNDED or CHARGED_BACK with the ledger's reversal and, when the goods were
     * delivered, the revocation the game is told of — in one statement. Idempotent.
     */
    async recordReversal({ orderId, reversal, brokers }: { orderId: string; reversal: ChannelReversal; brokers?: boolean }): Promise<ReversalOutcome> {
      const order = await readOrder(db, orderId);
      const status = order.status as OrderStatus;
      const to: OrderStatus = reversal.cause === 'CHARGEBACK' ? 'CHARGED_BACK' : 'REFUNDED';
      const reason = REASON_OF[reversal.cause];
      const revocationId = revocationIdFor(orderId);
      if (status === 'REFUNDED' || status === 'CHARGED_BACK') {
        // Done before (a retry), or refunded by us already: the money went back once.
        await riskCounters?.giveBackMinorHold(orderId); // an attempt that ended before it could
        const revoked = await db.revocation.findUnique({ where: { orderId }, select: { id: true } });
        await wakeCardOfReversedOrder(sql, orderId); // a retry after the statement, before the card heard of it
        return { status, reason: order.statusReason ?? undefined, ...(revoked && { revocationId: revoked.id }) };
      }
      // Never paid here (closed unpaid, its purchase notification lost): the store returned money we never
      // booked, so there is nothing to reverse (a late payment is refunded by its own path).
      if (!canTransition(status, to) || order.paidAt === null) {
        Context.current().log.warn('reversal of an order that holds no money', { orderId, status, cause: reversal.cause });
        return {};
      }
      const delivered = status === 'DELIVERED';
      // What the channel states it returned; else all the order still holds (a partial refund may have gone before).
      const returned: Money = reversal.amount ?? (await stillHeld(sql, orderId, order.paid ?? order.amount));
      const ledger =
        reversal.cause === 'OPS_REFUND'
          ? journalRefunded(returned)
          : journalChannelReversal(reversal.cause === 'CHARGEBACK' ? 'CHARGEBACK' : 'CHANNEL_REFUND', reversal.dedupeKey, returned);
      // Still delivering: an attempt in flight as the money went back may still reach the game.
      const revoke = (delivered || status === 'DELIVERING') && reversal.revoke;
      await moveOrder(books, orderId, to, { reason, patch: { stamp: 'refunded_at' } }, [
        releaseStock,
        releaseAllowances,
        releaseMinorHold,
        dropCardDays,
        ledger,
        ...(revoke ? [openRevocation(revocationId, REVOCATION_REASON[reversal.cause], brokers)] : []),
      ]);
      await riskCounters?.giveBackMinorHold(orderId);
      await wakeCardOfReversedOrder(sql, orderId);
      Context.current().log.info('order reversed', { orderId, cause: reversal.cause, status: to, amount: returned, revoke });
      return { status: to, reason, ...(revoke && { revocationId }) };
    },

    /**
     * An operator refunds a delivered order: the money goes back through the order's channel
     * (idempotent). A channel's final refusal fails the reversal for good (REFUND_REFUSED, in GET
     * /v1/ops/stuck); the order stays DELIVERED, its money with us.
     */
    async refundThroughChannel({ orderId, reason }: { orderId: string; reason: string }): Promise<void> {
      const order = await readOrder(db, orderId);
      const refundId = refundIdFor(orderId);
      const existing = await findRefund(db, refundId);
      if (existing && existing.status !== 'PENDING') return;
      const paid = order.paid ?? order.amount;
      const amount = await stillHeld(sql, orderId, paid);
      await createPendingRefund(db, { id: refundId, orderId, channel: order.channel, amount, reason });
      const result = await refundAtChannel(channels, order, { refundId, reason, paid, amount, channelPaymentId: order.channelPaymentId });
      await recordRefundAccepted(sql, refundId, result.channelRefundId, result.state);
    },

    /**
     * Tells the game to take back the goods, the same revocationId on every attempt (games revoke each
     * id once). HTTP: a signed POST to its revokeUrl, whose answer decides; a game without one leaves
     * the revocation for operations (NO_REVOKE_URL). A broker revocation (`brokers`, its mode fixed when
     * it opened) is published and then awaits the game's ack in the workflow; nothing is published once
     * the ack is recorded.
     */
    async revokeGrants({ revocationId, brokers }: { orderId: string; revocationId: string; brokers?: boolean }): Promise<RevocationAttempt> {
      const target = await revocationTarget(sql, revocationId);
      if (!target) throw ApplicationFailure.nonRetryable(`no revocation ${revocationId}`, 'REVOCATION_NOT_FOUND');
      if (target.status === 'REVOKED' || target.status === 'NO_REVOKE_URL') return target.status;
      const mode = (brokers ? target.mode : 'HTTP') as DeliveryMode;
      if (mode === 'HTTP' && !target.revoke_url) {
        await recordRevocationAttempt(sql, revocationId, { status: 'NO_REVOKE_URL' });
        Context.current().log.warn('goods to take back, but the game has no revokeUrl', { orderId: target.order_id, revocationId });
        return 'NO_REVOKE_URL';
      }
      const answer = await gameServers.send({
        kind: 'REVOCATION',
        mode,
        gameId: target.game_id,
        secret: openGameSecret(credentialsKeyring(config), target),
        url: target.revoke_url ?? '',
        messageId: brokerMessageId(revocationId, target.attempts + 1),
        payload: {
          revocationId,
          orderId: target.order_id,
          userId: target.user_id,
          sku: target.sku,
          quantity: target.quantity,
          grants: target.grants,
          reason: target.reason,
          amount: { currency: target.currency, value: target.amount },
        },
        timeoutMs: config.REVOCATION_HTTP_TIMEOUT_MS,
        signal: Context.current().cancellationSignal,
      });
      if (answer.outcome === 'PUBLISHED') {
        await recordPublishedRevocation(sql, revocationId);
        return { awaitingAck: true, ackTimeoutMs: target.ack_timeout_ms ?? ACK_TIMEOUT_MS.default };
      }
      const { statusCode } = answer;
      const error = answer.outcome === 'RETRY' ? answer.error : undefined;
      await recordRevocationAttempt(sql, revocationId, { status: error ? 'PENDING' : 'REVOKED', statusCode, error });
      if (error) throw ApplicationFailure.retryable(error, 'REVOCATION_FAILED');
      return 'REVOKED';
    },
  };
}
