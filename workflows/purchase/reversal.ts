import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities';
import type { OrderStatus } from '../../domain/orders/status';
import type { ChannelReversal, PurchaseTiming } from '../contract';
import { booksOptions, channelOptions, revocationOptions } from '../shared/options';

type ReversalOutcome = Awaited<ReturnType<Activities['recordReversal']>>;

/**
 * The money of an order whose purchase has ended goes back — the channel refunded it, the payer's
 * bank charged it back, the store revoked it, or an operator refunds a delivered order:
 *
 *   return the money through the channel (operator refunds only: the others already happened)
 *   end the order REFUNDED or CHARGED_BACK, with the ledger's reversal
 *   tell the game to take the goods back (one revocationId per order, retried like a delivery)
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
  const outcome = await books.recordReversal({ orderId, reversal: cause });
  recorded(outcome);
  if (outcome.revocationId) {
    await proxyActivities<Activities>(revocationOptions(timing)).revokeGrants({ orderId, revocationId: outcome.revocationId });
  }
  return outcome;
}
