import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey } from '@temporalio/common';
import type { Money } from '../domain/money';
import type { Grant } from '../domain/catalog/pricing';
import type { OrderStatus } from '../domain/orders/status';

/**
 * What the purchase workflows share with their callers (API, activities, tests): messages, search
 * attributes, timings and failure codes. Definitions only, no logic.
 */

/** Search attributes every order workflow keeps current, for finding orders in the Temporal UI. */
export const OrderStatusKey = defineSearchAttributeKey('OrderStatus', 'KEYWORD');
export const GameIdKey = defineSearchAttributeKey('GameId', 'KEYWORD');
export const UserIdKey = defineSearchAttributeKey('UserId', 'KEYWORD');
export const PaymentChannelKey = defineSearchAttributeKey('PaymentChannel', 'KEYWORD');

/** Every duration of the life cycle; configured, so tests run it in seconds. */
export interface PurchaseTiming {
  paymentTimeoutMs: number;
  deliveryDeadlineMs: number;
  deliveryAttemptTimeoutMs: number;
  deliveryRetryInitialMs: number;
  deliveryRetryMaxMs: number;
  activityRetryInitialMs: number;
  activityRetryMaxMs: number;
  /**
   * How long opening the channel payment may be retried before the order is closed as
   * CHANNEL_UNAVAILABLE (absent in orders started before it existed: three attempts then).
   */
  channelOpenBudgetMs?: number;
}

export interface PurchaseInput {
  orderId: string;
  gameId: string;
  userId: string;
  sku: string;
  itemName: string;
  quantity: number;
  /** What the player receives for the whole quantity, fixed at order time. */
  grants: Grant[];
  region: string;
  amount: Money;
  channel: string;
  idempotencyKey: string;
  requestHash: string;
  clientIp?: string;
  deviceId?: string;
  /** Where the payer pays (ios, android, web, pc). */
  platform?: string;
  /** The item's product in the order's store channel (App Store, Google Play). */
  storeProductId?: string;
  /** The channel wants to hear that the goods were delivered (Google Play: consume). */
  confirmsDelivery?: boolean;
  /** The API request that created the order, to follow it through the logs. */
  requestId?: string;
  timing: PurchaseTiming;
}

/** What a caller learns about an order from its workflow. */
export interface OrderSnapshot {
  orderId: string;
  status: OrderStatus;
  reason?: string;
  amount: Money;
  channel: string;
  payment?: Record<string, unknown>;
  expiresAt: string;
}

/** A verified payment result from the order's channel, as the workflow receives it. */
export interface PaymentNotification {
  /** Stable across the channel's retries of the same notification. */
  notificationId: string;
  channelPaymentId: string;
  merchantOrderId: string;
  result: 'SUCCESS' | 'FAILED';
  channelTxnId?: string;
  /** What was actually paid (may differ from the order: never trust it blindly). */
  paid?: Money;
  paidAt?: string;
}

/** Update-with-Start target: returns the payment parameters once the order is open. */
export const requestPaymentUpdate = defineUpdate<OrderSnapshot, [requestHash: string]>('requestPayment');
/** The game gives up on an unpaid order. */
export const cancelOrderUpdate = defineUpdate<OrderSnapshot, []>('cancelOrder');
/** A verified payment result from the order's channel; at-least-once, deduplicated by the workflow. */
export const paymentNotifiedSignal = defineSignal<[PaymentNotification]>('paymentNotified');
export const orderSnapshotQuery = defineQuery<OrderSnapshot>('orderSnapshot');

/** What an operator may ask of an order's workflow (audited by the API with the operator's identity). */
export interface OpsRequest {
  action: 'RETRY_DELIVERY' | 'REFUND' | 'DELIVER';
  operator: string;
  reason: string;
}
export const opsActionUpdate = defineUpdate<OrderSnapshot, [OpsRequest]>('opsAction');

/** Ids of workflow changes that alter the commands of running orders (see `patched`). */
export const PATCHES = {
  manualReviewAwaitsOps: 'manual-review-awaits-ops',
  /** An operator's retry also restarts a delivery whose attempt failed as the retry arrived (not only a cancelled one). */
  opsRetryAfterFailedAttempt: 'ops-retry-after-failed-attempt',
} as const;

/** Failure types the API maps to its error codes. */
export const FAILURE = {
  idempotencyConflict: 'IDEMPOTENCY_CONFLICT',
  notCancellable: 'ORDER_NOT_CANCELLABLE',
  opsActionRefused: 'OPS_ACTION_NOT_ALLOWED',
  channelUnavailable: 'CHANNEL_UNAVAILABLE',
  illegalTransition: 'ILLEGAL_TRANSITION',
  /** PostgreSQL refused the data itself (SQLSTATE class 22/23): retrying cannot help. */
  dataError: 'DATA_ERROR',
} as const;
