import {
  CancellationScope,
  allHandlersFinished,
  condition,
  patched,
  proxyActivities,
  proxyLocalActivities,
} from '@temporalio/workflow';
import type { Activities } from '../../activities';
import { REASONS, type OrderStatus } from '../../domain/orders/status';
import { rejectionReason } from '../../domain/risk/rules';
import { FAILURE, PATCHES, type PurchaseInput } from '../contract';
import { isFailure } from '../shared/failures';
import { booksOptions, channelOptions, openingChannelOptions } from '../shared/options';
import { awaitPayment } from './await-payment';
import { deliverOrRefund } from './delivery';
import { openWithFailover } from './channel-failover';
import { OrderState } from './order-state';
import { reverse } from './reversal';

/**
 * One purchase, from risk check to delivered goods or returned money. Each step that commits
 * something names the compensation that undoes it:
 *
 *   risk check
 *   reserve stock (open the order)     ↔ release stock      (closing or refunding the order)
 *   open the channel payment           ↔ close it           (payment timeout, game cancels)
 *   take the money (payment result)    ↔ refund it          (delivery deadline, operator, late payment)
 *   (risk review: hold the money)      ↔ refund it          (operator denies, review times out)
 *   deliver to the game server, with retries until the delivery deadline
 *   a monthly card's days begin (its own workflow)
 */
export async function purchase(input: PurchaseInput): Promise<OrderStatus> {
  const { orderId, timing } = input;
  const books = proxyLocalActivities<Activities>(booksOptions(timing));
  const openingChannel = proxyLocalActivities<Activities>(openingChannelOptions(timing));
  const channel = proxyActivities<Activities>(channelOptions(timing));
  const order = new OrderState(input, Date.now() + timing.paymentTimeoutMs);
  order.installHandlers();

  // Compensations, each beside the step it undoes (one SQL statement may carry both effects).
  const releaseStock = async (why: string) => {
    await books.closeOrder({ orderId, reason: why }); // closing the order returns its reservation
    order.enter('CLOSED', why);
  };
  const refundMoney = async (why: string) => {
    let outcome: Awaited<ReturnType<typeof channel.refundOrder>>;
    for (let reason = why; ; reason = REASONS.opsRefund) {
      try {
        outcome = await channel.refundOrder({ orderId, reason });
        break;
      } catch (err) {
        if (!isFailure(err, FAILURE.refundRefused)) throw err;
        // The channel refused for good (GET /v1/ops/stuck has its words): the money waits for an
        // operator's refund, or for the channel's own refund or chargeback (see finish()).
        order.enter(order.status, REASONS.refundRefused);
        order.clearOps();
        await condition(() => order.pendingOps()?.action === 'REFUND' || order.reversal !== undefined);
        if (order.reversal) return;
      }
    }
    // The game server took the goods while the refund was being decided: nothing to return.
    if (outcome === 'ALREADY_DELIVERED') order.enter('DELIVERED');
    else order.enter('REFUNDED', why);
  };

  // 1. Risk check; 2. open the order, reserving its stock (a refused order is kept for the record).
  let opened: Awaited<ReturnType<typeof books.openOrder>>;
  try {
    const risk = await books.checkRisk({
      orderId,
      amount: input.amount,
      gameId: input.gameId,
      userId: input.userId,
      clientIp: input.clientIp,
      deviceId: input.deviceId,
      clientIpSealed: input.clientIpSealed,
      deviceIdSealed: input.deviceIdSealed,
      ...(input.ageBand && { region: input.region, ageBand: input.ageBand }),
    });
    // A review holds the paid order for a person (refundable orders only: held money must be returnable).
    order.holdsForRiskReview = risk.decision === 'REVIEW' && input.refundable !== false && patched(PATCHES.riskReviewHold);
    const { timing: _timing, ...orderFields } = input;
    opened = await books.openOrder({
      ...orderFields,
      expiresAt: order.expiresAt,
      rejection: risk.decision === 'DENY' ? rejectionReason(risk) : undefined,
      ...(risk.details && { rejectionDetails: risk.details }),
    });
  } catch (err) {
    // Data the database cannot store: refused for good, nothing was taken (never retried forever).
    if (!isDataError(err)) throw err;
    order.enter('REJECTED', REASONS.invalidData);
    order.markOpened(FAILURE.dataError);
    return finish();
  }
  order.enter(opened.status, opened.reason);
  if (opened.status === 'REJECTED') {
    order.markOpened();
    return finish();
  }

  // 3. Open the channel payment; the create call returns its parameters to the game server. With
  //    ranked accounts, a failing one hands over to the next (channel-failover.ts).
  try {
    const candidates = input.channelCandidates;
    const open = () =>
      openingChannel.createChannelPayment({
        orderId,
        channel: input.channel,
        amount: input.amount,
        subject: input.itemName,
        expiresAt: order.expiresAt,
        userId: input.userId,
        platform: input.platform,
        storeProductId: input.storeProductId,
        clientIp: input.clientIp,
        clientIpSealed: input.clientIpSealed,
      });
    const budget = timing.channelOpenBudgetMs;
    const created =
      candidates?.length && patched(PATCHES.channelFailover)
        ? await openWithFailover(input, order, candidates)
        : await (budget === undefined ? open() : CancellationScope.withTimeout(budget, open));
    order.payment = created.payment;
    order.markOpened();
  } catch {
    await releaseStock(REASONS.channelUnavailable);
    order.markOpened(FAILURE.channelUnavailable);
    return finish();
  }

  try {
    // 4. Wait for the money until the payment timeout; the game may cancel meanwhile (await-payment.ts).
    await awaitPayment(input, order, releaseStock);

    // Paid, but risk asked a person: approved, it is delivered; denied or undecided in time, refunded.
    if (order.status === 'RISK_REVIEW') await riskReviewDecides();

    // 5. Deliver, or refund when the game server cannot take the goods before the deadline; a store
    //    that needs to hear of the delivery is told (Google Play: consume). Money the channel already
    //    returned (its refund came before its payment) is not delivered: finish() ends the order.
    const returnedBeforePaid = () => order.reversal !== undefined && patched(PATCHES.reversalBeforeDelivery);
    if (order.status === 'PAID' && !returnedBeforePaid()) await deliverOrRefund(input, order, books, refundMoney);
    if (order.status === 'DELIVERED' && input.confirmsDelivery) {
      await channel.confirmChannelDelivery({ orderId, channel: order.channel });
    }

    // Paid, but not what was asked: a person decides to deliver or to return the money.
    if (order.status === 'MANUAL_REVIEW' && patched(PATCHES.manualReviewAwaitsOps)) await operatorDecides();

    // Money that arrived for a closed order is never kept: refunded, or, where the channel will not
    // return it (App Store), held for a person who delivers it.
    const late = order.status === 'CLOSED' ? order.lateSuccess() : undefined;
    if (late) {
      try {
        await channel.refundOrder({ orderId, reason: REASONS.latePayment, latePayment: late });
        order.enter('REFUNDED', REASONS.latePayment);
      } catch (err) {
        if (!isFailure(err, FAILURE.refundRefused) || !patched(PATCHES.latePaymentHeld)) throw err;
        await books.holdLatePayment({ orderId, notification: late });
        order.enter('MANUAL_REVIEW', REASONS.latePayment);
        await operatorDecides();
      }
    }
  } catch (err) {
    // A step whose data the database refuses is not retried forever: a person decides.
    if (!isDataError(err)) throw err;
    order.enter('MANUAL_REVIEW', REASONS.dataError);
    await operatorDecides();
  }
  // 6. A delivered monthly card starts its days, or adds them to the card's end (workflows/monthly-card).
  if (order.status === 'DELIVERED' && input.monthlyCard && patched(PATCHES.monthlyCards)) {
    await books.startMonthlyCard({ orderId, terms: input.monthlyCard });
  }
  return finish();

  async function finish() {
    await condition(allHandlersFinished);
    // The channel returned the money (a store refund, a chargeback) while this order was still open.
    if (order.reversal && patched(PATCHES.channelReversals)) {
      await reverse(orderId, order.reversal, timing, (outcome) => {
        if (outcome.status) order.enter(outcome.status, outcome.reason);
      });
    }
    return order.status;
  }

  /** An operator approves or denies an order held for risk review (the ops API's risk-decision), within its timeout. */
  async function riskReviewDecides() {
    const timeoutMs = timing.riskReviewTimeoutMs ?? DEFAULT_RISK_REVIEW_TIMEOUT_MS;
    await condition(() => order.pendingOps() !== undefined || order.reversal !== undefined, timeoutMs);
    if (order.reversal) return; // the channel settled it: see finish()
    const action = order.pendingOps()?.action;
    if (action === 'RISK_APPROVE') await deliverOrRefund(input, order, books, refundMoney);
    else await refundMoney(action === 'RISK_DENY' ? REASONS.riskDenied : REASONS.riskReviewTimeout);
  }

  /** An operator delivers or refunds (the ops API's resolve, through the opsAction update). */
  async function operatorDecides() {
    await condition(() => order.pendingOps() !== undefined || order.reversal !== undefined);
    if (order.reversal) return; // the channel settled it: see finish()
    if (order.pendingOps()?.action === 'DELIVER') await deliverOrRefund(input, order, books, refundMoney);
    else await refundMoney(REASONS.opsRefund);
  }
}

/** How long a risk review waits for an operator in orders started without RISK_REVIEW_TIMEOUT_MS in their timing. */
const DEFAULT_RISK_REVIEW_TIMEOUT_MS = 24 * 3_600_000;

/** An activity failed because PostgreSQL refused its data (see activities/guard.ts). */
function isDataError(err: unknown): boolean {
  return isFailure(err, FAILURE.dataError);
}
