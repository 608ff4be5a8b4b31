import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { CreatedPayment } from '../channels/types';
import { attemptClosedLate, attemptEnded, attemptOpened } from '../store/routing';
import type { ActivityDeps } from './deps';
import { enabledAdapter, openAtChannel, type OpenPaymentParams } from './payments';

/**
 * Failover (step 3 of the purchase with ranked channel accounts): each account is one numbered
 * attempt. The attempt's row in order_channel_attempts decides whether an opening counts: an account
 * that answers after the workflow moved on to the next one has its payment closed, never used.
 */
export function createChannelAttemptActivities({ database, channels, config }: ActivityDeps) {
  const { sql } = database;
  return {
    /** Opens the payment at this attempt's account and makes it the order's payment, unless the workflow gave up on it. */
    async openChannelAttempt(params: OpenPaymentParams & { attempt: number }): Promise<CreatedPayment> {
      const channel = enabledAdapter(channels, params.channel);
      const created = await openAtChannel(channel, config, params);
      const opened = await attemptOpened(sql, { ...params, channelPaymentId: created.channelPaymentId, payment: created.payment });
      if (opened) return created;
      // Too late: the order went on to another account. This payment never reaches a payer: close it.
      if (channel.supports.close) {
        const ref = { orderId: params.orderId, channelPaymentId: created.channelPaymentId, amount: params.amount };
        await channel.closePayment(ref);
      }
      await attemptClosedLate(sql, { orderId: params.orderId, attempt: params.attempt, channelPaymentId: created.channelPaymentId });
      Context.current().log.info('late channel opening closed', { orderId: params.orderId, channel: params.channel, attempt: params.attempt });
      throw ApplicationFailure.nonRetryable(`${params.channel} opened the payment after the order moved on; closed there`, 'ATTEMPT_ABANDONED');
    },

    /**
     * The workflow gives up on an attempt (it failed or its time ran out). Answers the payment when the
     * attempt opened meanwhile: the order takes it rather than open a second one elsewhere.
     */
    async endChannelAttempt(params: {
      orderId: string;
      attempt: number;
      channel: string;
      outcome: 'FAILED' | 'TIMED_OUT';
      error?: string;
    }): Promise<CreatedPayment | undefined> {
      const opened = await attemptEnded(sql, { ...params, error: params.error?.slice(0, 1_000) });
      return opened && { channelPaymentId: opened.channelPaymentId, payment: opened.payment };
    },
  };
}
