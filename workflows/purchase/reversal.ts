import { condition, log, patched, proxyActivities, proxyLocalActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { OrderStatus } from '../../domain/orders/status';
import { PATCHES, revocationAckSignal, type ChannelReversal, type PurchaseTiming } from '../contract';
import { booksOptions, channelOptions, revocationOptions } from '../shared/options';

type ReversalOutcome = Awaited<ReturnType<Activities['recordReversal']>>;

/**
 * The money of an order whose purchase has ended goes back — the channel refunded it, the payer's
 * bank charged it back, the store revoked it, or an operator refunds a delivered order:
 *
 *   return the money through the channel (operator refunds only: the others already happened)
 *   end the order REFUNDED or CHARGED_BACK, with the ledger's reversal
 *   tell the game to take the goods back (one revocationId per order, retried like a delivery; over a
 *   broker, republished until the game acks it, see revokeByMode)
 */
export async function reversal(orderId: string, cause: ChannelReversal, timing: PurchaseTiming): Promise<OrderStatus | 'NOTHING_TO_REVERSE'> {
  const channel = proxyActivities<Activities>(channelOptions(timing));
  if (cause.cause === 'OPS_REFUND') await channel.refundThroughChannel({ orderId, reason: cause.reason ?? 'OPS_REFUND' });
  const outcome = await reverse(orderId, cause, timing);
  return outcome.status ?? 'NOTHING_TO_REVERSE';
}

/**
 * A reversal from the channel side (or an operator's, once its money went back): nothing is refunded
 * here; the order ends REFUNDED or CHARGED_BACK with the ledger's reversal, and goods the game took
 * are taken back. `recorded` learns the order's new status before the game is told.
 */
export async function reverse(
  orderId: string,
  cause: ChannelReversal,
  timing: PurchaseTiming,
  recorded: (outcome: ReversalOutcome) => void = () => undefined,
): Promise<ReversalOutcome> {
  const books = proxyLocalActivities<Activities>(booksOptions(timing));
  // The game's ack of a broker revocation may come before the wait for it begins: kept from now on.
  const acked = new Set<string>();
  setHandler(revocationAckSignal, ({ revocationId }) => void acked.add(revocationId));
  const brokers = patched(PATCHES.brokerRevocation);
  const outcome = await books.recordReversal(brokers ? { orderId, reversal: cause, brokers } : { orderId, reversal: cause });
  recorded(outcome);
  if (outcome.revocationId) {
    const revocation = proxyActivities<Activities>(revocationOptions(timing));
    if (brokers) await revokeByMode(orderId, outcome.revocationId, timing, acked);
    else await revocation.revokeGrants({ orderId, revocationId: outcome.revocationId });
  }
  return outcome;
}

/**
 * HTTP: the revokeUrl's answer decides (retried until the delivery deadline). NATS / RabbitMQ: each
 * attempt is published, then waits for the game's ack up to its ackTimeoutMs; none → republished (same
 * revocationId, a new attempt) until the delivery deadline, after which the revocation stays PENDING
 * for operations (a later ack still records it REVOKED). The revocation row is the truth: a republish
 * finds an ack recorded meanwhile and stops.
 */
async function revokeByMode(orderId: string, revocationId: string, timing: PurchaseTiming, acked: ReadonlySet<string>): Promise<void> {
  const deadline = Date.now() + timing.deliveryDeadlineMs;
  const revocation = proxyActivities<Activities>(revocationOptions(timing));
  for (;;) {
    const attempt = await revocation.revokeGrants({ orderId, revocationId, brokers: true });
    if (typeof attempt === 'string') return;
    const waitMs = Math.min(attempt.ackTimeoutMs, deadline - Date.now());
    if (waitMs > 0) await condition(() => acked.has(revocationId), waitMs);
    if (acked.has(revocationId)) return;
    if (Date.now() >= deadline) {
      log.warn('no ack of the revocation before the deadline: left PENDING for operations', { orderId, revocationId });
      return;
    }
  }
}
