import { openPii, piiKeyring } from '../infra/pii';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ChannelError } from '../channels/http';
import { paymentResultOf } from '../channels/events';
import type { ChannelRegistry } from '../channels/registry';
import {
  ChannelUnsupportedError,
  type ChannelAdapter,
  type CloseOutcome,
  type CreatedPayment,
  type PaymentRef,
  type Platform,
  type RefundResult,
} from '../channels/types';
import type { Money } from '../domain/money';
import type { Config } from '../infra/config';
import type { RunSql } from '../infra/db';
import { refundIdFor } from '../domain/ids';
import { journalLatePaymentRefunded, journalRefunded, orderHoldings } from '../store/journal';
import { channelPaymentOf, readOrder, setChannelPayment, type Order } from '../store/orders';
import { recordNotification } from '../store/payments';
import { createPendingRefund, refundSucceeded } from '../store/refunds';
import { releaseStock } from '../store/stock';
import { releaseMinorHold } from '../store/minor-caps';
import { releaseAllowances } from '../store/allowances';
import { FAILURE, type PaymentNotification } from '../workflows/contract';
import type { ActivityDeps } from './deps';
import { moveOrder, orderBooks, paidPatch } from './orders';

/** Work against the payment channels: open, close and refund channel payments. */
export function createPaymentActivities({ database, channels, config, riskCounters }: ActivityDeps) {
  const { db, sql } = database;
  const books = orderBooks(database, config);
  const adapter = (channelId: string) => configuredAdapter(channels, channelId);

  return {
    /** Opens the payment at the channel (idempotent there by our order id) and records where it is. */
    async createChannelPayment(params: OpenPaymentParams): Promise<CreatedPayment> {
      const created = await openAtChannel(enabledAdapter(channels, params.channel), config, params);
      await setChannelPayment(sql, params.orderId, created.channelPaymentId);
      return created;
    },

    /**
     * Asks the channel about a payment it has not notified (a lost notification): a payment it took
     * comes back as the payment result its notification would have brought, recorded like one.
     */
    async queryChannelPayment(params: { orderId: string; channel: string }): Promise<PaymentNotification | undefined> {
      const order = await readOrder(db, params.orderId);
      const channel = adapter(params.channel);
      if (!order.channelPaymentId) return undefined;
      let answer;
      try {
        answer = await channel.queryPayment(await paymentRef(params.orderId));
      } catch (err) {
        // A channel that cannot be asked (e.g. a store without API credentials) leaves it to its notifications.
        if (err instanceof ChannelUnsupportedError) return undefined;
        throw err;
      }
      if (answer.state !== 'SUCCEEDED' || !answer.event) return undefined;
      const result = paymentResultOf(answer.event, {
        amount: order.amount,
        storeProductId: order.storeProductId,
      });
      if (!result) return undefined;
      await recordNotification(sql, {
        channel: params.channel,
        notificationId: result.notificationId,
        channelPaymentId: result.channelPaymentId || order.channelPaymentId,
        merchantOrderId: params.orderId,
        result: result.result,
        paid: result.paid,
        rawBody: JSON.stringify({ source: 'query', event: answer.event }),
        source: 'QUERY',
      });
      Context.current().log.info('payment found by asking the channel', { orderId: params.orderId, channel: params.channel });
      return result;
    },

    /** Tells a store the goods were delivered (Google Play: consume, before its 3-day auto-refund). */
    async confirmChannelDelivery(params: { orderId: string; channel: string }): Promise<void> {
      await channelCall(async () => adapter(params.channel).confirmDelivery(await paymentRef(params.orderId)));
    },

    /** Compensates the channel payment of an order closed unpaid. */
    async closeChannelPayment(params: { orderId: string; channel: string }): Promise<CloseOutcome> {
      const order = await channelPaymentOf(db, params.orderId);
      if (!order.channelPaymentId) return 'CLOSED';
      const channel = adapter(params.channel);
      if (!channel.supports.close) return 'CLOSED'; // nothing stays open at a channel that has no close
      return channel.closePayment(await paymentRef(params.orderId));
    },

    /**
     * Compensates the payment: returns the money in full through the order's channel and marks the
     * order REFUNDED (its stock reservation released in the same statement). Idempotent end to end:
     * one refund id per order, deduplicated by the channel too. A channel's final refusal fails it
     * without retry (REFUND_REFUSED, recorded for GET /v1/ops/stuck); the workflow waits for a person.
     */
    async refundOrder(params: {
      orderId: string;
      reason: string;
      latePayment?: PaymentNotification;
    }): Promise<'REFUNDED' | 'ALREADY_DELIVERED'> {
      const order = await readOrder(db, params.orderId);
      if (order.status === 'REFUNDED') {
        await riskCounters?.giveBackMinorHold(order.id); // an attempt that ended before it could
        return 'REFUNDED';
      }
      if (order.status === 'DELIVERED') return 'ALREADY_DELIVERED';
      const late = params.latePayment;
      const paid: Money | undefined = late?.paid ?? order.paid;
      const channelPaymentId = late?.channelPaymentId ?? order.channelPaymentId;
      if (!paid || !channelPaymentId) {
        throw ApplicationFailure.nonRetryable(`order ${order.id} has no payment to refund`, 'NOTHING_TO_REFUND');
      }
      // All of a late payment goes back; of the order's, what a channel's partial refund left.
      const amount = late ? paid : await stillHeld(sql, order.id, paid);
      const refundId = refundIdFor(order.id);
      await createPendingRefund(db, { id: refundId, orderId: order.id, channel: order.channel, amount, reason: params.reason });
      const { channelRefundId, state } = await refundAtChannel(channels, order, {
        refundId,
        reason: params.reason,
        paid,
        amount,
        channelPaymentId,
        channelTradeNo: late?.channelTxnId,
      });
      await moveOrder(
        books,
        order.id,
        'REFUNDED',
        {
          reason: params.reason,
          patch: { stamp: 'refunded_at', ...(late ? { paid: paidPatch(late) } : {}) },
          // Goods the game took are never refunded by the purchase itself (reversals are their own step).
          onlyFrom: ['PAID', 'DELIVERING', 'MANUAL_REVIEW', 'RISK_REVIEW', 'CLOSED'],
        },
        [releaseStock, releaseAllowances, releaseMinorHold, refundSucceeded(refundId, channelRefundId, state), late ? journalLatePaymentRefunded(paid) : journalRefunded(amount)],
      );
      await riskCounters?.giveBackMinorHold(order.id);
      Context.current().log.info('order refunded', { orderId: order.id, reason: params.reason, refundId, amount });
      return 'REFUNDED';
    },
  };

  async function paymentRef(orderId: string): Promise<PaymentRef> {
    const order = await readOrder(db, orderId);
    return paymentRefOf(order, order.channelPaymentId!);
  }
}

/**
 * The adapter of a configured account, enabled or not (a disabled account's payments go on); an
 * account that is not configured is a non-retryable failure.
 */
export function configuredAdapter(channels: ChannelRegistry, channelId: string): ChannelAdapter {
  const found = channels.get(channelId);
  if (!found) throw ApplicationFailure.nonRetryable(`channel ${channelId} is not configured`, 'CHANNEL_NOT_CONFIGURED');
  return found;
}

/** The adapter of an account that takes new payments: disabling stops new ones (the order fails over). */
export function enabledAdapter(channels: ChannelRegistry, channelId: string): ChannelAdapter {
  if (!channels.names().includes(channelId)) {
    throw ApplicationFailure.nonRetryable(`channel ${channelId} is disabled or not configured`, 'CHANNEL_NOT_ENABLED');
  }
  return configuredAdapter(channels, channelId);
}

/** What opening an order's payment at a channel account needs (step 3 of the purchase). */
export interface OpenPaymentParams {
  orderId: string;
  channel: string;
  amount: Money;
  subject: string;
  expiresAt: string;
  userId?: string;
  platform?: string;
  storeProductId?: string;
  /** Sealed (infra/pii.ts): opened here, for the channel only (WeChat Pay wants the payer's IP). */
  clientIpSealed?: string;
  /** Plaintext, from orders started before personal data was sealed. */
  clientIp?: string;
}

/** Opens the payment at the account (idempotent there by our order id); its notifications come to its callback URL. */
export function openAtChannel(
  channel: ChannelAdapter,
  config: Pick<Config, 'PUBLIC_BASE_URL' | 'PII_KEYS' | 'PII_ACTIVE_KEY' | 'PII_HASH_KEY'>,
  params: OpenPaymentParams,
): Promise<CreatedPayment> {
  const clientIp = params.clientIpSealed ? openPii(piiKeyring(config), params.clientIpSealed) : params.clientIp;
  return channelCall(() =>
    channel.createPayment({
      orderId: params.orderId,
      amount: params.amount,
      subject: params.subject,
      notifyUrl: `${config.PUBLIC_BASE_URL}/v1/callbacks/${encodeURIComponent(params.channel)}`,
      expiresAt: new Date(params.expiresAt),
      userId: params.userId ?? '',
      platform: params.platform as Platform | undefined,
      storeProductId: params.storeProductId,
      clientIp,
    }),
  );
}

/**
 * A channel's final refusal is not retried; its outages are (the activity's retry policy decides). The
 * refusal's failure type is the channel's code, or `refusalType` where the workflow acts on it.
 */
async function channelCall<T>(call: () => Promise<T>, refusalType?: string): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof ChannelError && !err.transient) {
      throw ApplicationFailure.nonRetryable(refusalType ? `${err.code}: ${err.message}` : err.message, refusalType ?? err.code);
    }
    throw err;
  }
}

/** What returning an order's money at its channel needs besides the order. */
export interface ChannelRefund {
  refundId: string;
  reason: string;
  paid: Money;
  /** What goes back, when less than `paid` (the rest after a channel's partial refund). */
  amount?: Money;
  channelPaymentId: string | null;
  channelTradeNo?: string;
}

/**
 * Returns an order's money in full through its channel: the one refund call of both paths (the
 * purchase's own refund, an operator's refund of a delivered order); idempotent there by `refundId`.
 * A channel that cannot refund (App Store) or refuses this refund for good fails without retry
 * (REFUND_REFUSED, with the channel's code); an outage is retried.
 */
export async function refundAtChannel(
  channels: ChannelRegistry,
  order: Pick<Order, 'id' | 'channel' | 'amount' | 'channelTxnId' | 'storeProductId'>,
  refund: ChannelRefund,
): Promise<RefundResult> {
  const adapter = configuredAdapter(channels, order.channel);
  const { channelPaymentId } = refund;
  if (!adapter.supports.refund || !channelPaymentId) {
    throw ApplicationFailure.nonRetryable(`${adapter.type} cannot refund through its API; refund it at the store`, FAILURE.refundRefused);
  }
  return channelCall(
    () =>
      adapter.refund({
        refundId: refund.refundId,
        payment: paymentRefOf(order, channelPaymentId, refund.channelTradeNo),
        amount: refund.amount ?? refund.paid,
        paid: refund.paid,
        reason: refund.reason,
      }),
    FAILURE.refundRefused,
  );
}

/** Where an order's payment is at its channel: the one reference every channel call names. */
function paymentRefOf(
  order: Pick<Order, 'id' | 'amount' | 'channelTxnId' | 'storeProductId'>,
  channelPaymentId: string,
  channelTradeNo = order.channelTxnId ?? undefined,
): PaymentRef {
  return { orderId: order.id, channelPaymentId, channelTradeNo, amount: order.amount, storeProductId: order.storeProductId ?? undefined };
}

/** What an order still holds of its payment `paid`: less what a channel's partial refund returned. */
export async function stillHeld(run: RunSql, orderId: string, paid: Money): Promise<Money> {
  return (await orderHoldings(run, orderId)) ?? paid;
}
