import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { OrderStatusKey } from '../../../workflows/contract';
import type { FloorActivities } from './activities';
import { floorPaymentNotifiedSignal, floorRequestPaymentUpdate, type FloorInput } from './definitions';

/**
 * The engine's floor: the purchase workflow's shape without its work. Update-with-Start that
 * waits until the order is open, three local activities, one signal, three more local activities,
 * one regular activity, the same search-attribute upserts, the same timeouts and retry policy.
 */
export async function floorPurchase(input: FloorInput): Promise<string> {
  const retry = { initialInterval: 500, maximumInterval: 30_000, backoffCoefficient: 2 };
  const books = proxyLocalActivities<FloorActivities>({ startToCloseTimeout: '10s', retry });
  const openingChannel = proxyLocalActivities<FloorActivities>({ startToCloseTimeout: '15s', retry: { ...retry, maximumAttempts: 3 } });
  const delivery = proxyActivities<FloorActivities>({ startToCloseTimeout: '15s', scheduleToCloseTimeout: '1 day', retry });

  let status = 'PENDING_PAYMENT';
  let opened = false;
  const inbox: { notificationId: string }[] = [];
  const enter = (next: string) => {
    status = next;
    upsertSearchAttributes([{ key: OrderStatusKey, value: next }]);
  };

  setHandler(
    floorRequestPaymentUpdate,
    async () => {
      await condition(() => opened);
      return { orderId: input.orderId, status };
    },
    {
      validator: (requestHash) => {
        if (requestHash !== input.requestHash) throw ApplicationFailure.nonRetryable('other request', 'IDEMPOTENCY_CONFLICT');
      },
    },
  );
  setHandler(floorPaymentNotifiedSignal, (n) => void inbox.push(n));

  await books.checkRisk();
  enter((await books.openOrder()).status);
  await openingChannel.createChannelPayment({ orderId: input.orderId });
  opened = true;

  await condition(() => inbox.length > 0);
  await books.recordPaymentResult();
  await books.markPaid();
  enter('PAID');
  await books.startDelivery({ orderId: input.orderId });
  enter('DELIVERING');
  await delivery.deliverOrder();
  enter('DELIVERED');
  await condition(allHandlersFinished);
  return status;
}
