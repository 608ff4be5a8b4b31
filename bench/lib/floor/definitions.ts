import { defineSignal, defineUpdate } from '@temporalio/workflow';

export const FLOOR_TASK_QUEUE_SUFFIX = 'floor';

export interface FloorInput {
  orderId: string;
  requestHash: string;
}

/** Same names and shapes as the purchase workflow's update and signal. */
export const floorRequestPaymentUpdate = defineUpdate<{ orderId: string; status: string }, [requestHash: string]>('requestPayment');
export const floorPaymentNotifiedSignal = defineSignal<[{ notificationId: string }]>('paymentNotified');
