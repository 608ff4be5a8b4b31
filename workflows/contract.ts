import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { defineSearchAttributeKey } from '@temporalio/common';
import type { Money } from '../domain/money';
import type { MonthlyCardTerms } from '../domain/catalog/items';
import type { Grant } from '../domain/catalog/pricing';
import type { AllowanceTerms } from '../domain/catalog/allowances';
import type { AgeBand } from '../domain/risk/minor-caps';
import type { PaymentResult } from '../domain/orders/payment-result';
import type { OrderStatus } from '../domain/orders/status';
import type { RoutingDecision } from '../domain/routing/router';

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
  /**
   * With other accounts to fail over to (`channelCandidates`), how long the create call may try them
   * one after the other; a sole account keeps `channelOpenBudgetMs`.
   */
  channelFailoverBudgetMs?: number;
  /**
   * With no payment result this long after the payment was opened, the channel is asked (a lost
   * notification, 掉单), then again after twice as long, and once more before the order is closed.
   * Absent in orders started before it existed: they wait for the notification only.
   */
  paymentQueryAfterMs?: number;
  /** How long an order held for risk review waits for an operator before it is refunded (absent: 24 h). */
  riskReviewTimeoutMs?: number;
  /**
   * The task queue of the calls to the game server (deliveries, revocations, card days), served by the
   * fulfillment worker pool (FULFILLMENT_TASK_QUEUE). Absent in orders started before the pool existed:
   * their calls stay on the workflow's own queue (behind PATCHES.fulfillmentTaskQueue).
   */
  fulfillmentTaskQueue?: string;
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
  /**
   * The accounts to open the payment at, in the order to try them (the first is `channel`): when one
   * fails, the next is tried within the failover budget. Absent in orders started before failover.
   */
  channelCandidates?: string[];
  /** How the router chose, kept with the order for GET /v1/orders/{orderId}. */
  routing?: OrderRouting;
  idempotencyKey: string;
  requestHash: string;
  /**
   * The client IP and device id, sealed with lookup digests (infra/pii.ts SealedOrderPii): Temporal keeps
   * histories, so the plaintext never enters one. Activities open them where a channel needs the IP.
   */
  clientIpSealed?: string;
  clientIpDigest?: string;
  deviceIdSealed?: string;
  deviceIdDigest?: string;
  /** Plaintext, only in orders started before personal data was sealed. */
  clientIp?: string;
  deviceId?: string;
  /** Where the payer pays (ios, android, web, pc). */
  platform?: string;
  /** The item's product in the order's store channel (App Store, Google Play). */
  storeProductId?: string;
  /** The channel wants to hear that the goods were delivered (Google Play: consume). */
  confirmsDelivery?: boolean;
  /** False when we cannot return the money through the channel (App Store: only Apple refunds). */
  refundable?: boolean;
  /** The API request that created the order, to follow it through the logs. */
  requestId?: string;
  /** What the order takes from its user's allowances (limits, ownership, first-purchase bonus), fixed at order time. */
  allowances?: AllowanceTerms;
  /** A monthly card's terms (card orders only): its days begin once the order is delivered. */
  monthlyCard?: MonthlyCardTerms;
  /** The payer's age band (the request's, else the game's default); a minor's orders are held to the region's caps. */
  ageBand?: AgeBand;
  /** The create call's consumptionDataConsent (absent: not said), kept on the order for store consumption requests. */
  consumptionDataConsent?: boolean;
  timing: PurchaseTiming;
}

/** The router's decision as the order keeps it: every account considered, the choice and why. */
export type OrderRouting = Pick<RoutingDecision, 'candidates' | 'chosen' | 'reason'>;

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
export type PaymentNotification = PaymentResult;

/** Why the money of an order went back after it was paid. */
export type ReversalCause = 'CHANNEL_REFUND' | 'CHARGEBACK' | 'REVOKED' | 'OPS_REFUND';

/** The channel (or an operator) reversed a paid order: the order ends REFUNDED or CHARGED_BACK, the goods go back. */
export interface ChannelReversal {
  cause: ReversalCause;
  /** Stable across the channel's resends: one reversal per order anyway. */
  dedupeKey: string;
  amount?: Money;
  occurredAt?: string;
  /** Operator refunds: who, and whether the game is told to take the goods back. */
  operator?: string;
  reason?: string;
  revoke: boolean;
}

/** Update-with-Start target: returns the payment parameters once the order is open. */
export const requestPaymentUpdate = defineUpdate<OrderSnapshot, [requestHash: string]>('requestPayment');
/** The game gives up on an unpaid order. */
export const cancelOrderUpdate = defineUpdate<OrderSnapshot, []>('cancelOrder');
/** A verified payment result from the order's channel; at-least-once, deduplicated by the workflow. */
export const paymentNotifiedSignal = defineSignal<[PaymentNotification]>('paymentNotified');
/** A refund, chargeback or revocation reported by the channel while the order's workflow still runs. */
export const channelReversalSignal = defineSignal<[ChannelReversal]>('channelReversal');
export const orderSnapshotQuery = defineQuery<OrderSnapshot>('orderSnapshot');

/** A game's acknowledgement of a broker delivery, recorded on the delivery row before it is signalled. */
export interface DeliveryAck {
  deliveryId: string;
  result: 'GRANTED' | 'REJECTED';
  reason?: string;
}
export const deliveryAckSignal = defineSignal<[DeliveryAck]>('deliveryAcknowledged');

/** A game's acknowledgement of a broker revocation (the goods are taken back), recorded on the revocation row first. */
export interface RevocationAck {
  revocationId: string;
}
export const revocationAckSignal = defineSignal<[RevocationAck]>('revocationAcknowledged');

/** What an operator may ask of an order's workflow (audited by the API with the operator's identity). */
export interface OpsRequest {
  action: 'RETRY_DELIVERY' | 'REFUND' | 'DELIVER' | 'RISK_APPROVE' | 'RISK_DENY';
  operator: string;
  reason: string;
}
export const opsActionUpdate = defineUpdate<OrderSnapshot, [OpsRequest]>('opsAction');

/** Ids of workflow changes that alter the commands of running orders (see `patched`). */
export const PATCHES = {
  manualReviewAwaitsOps: 'manual-review-awaits-ops',
  /** An operator's retry also restarts a delivery whose attempt failed as the retry arrived (not only a cancelled one). */
  opsRetryAfterFailedAttempt: 'ops-retry-after-failed-attempt',
  /** Opening the payment tries the ranked channel accounts in turn (PurchaseInput.channelCandidates). */
  channelFailover: 'channel-failover',
  /** The payment wait asks the channel when no notification came (lost callbacks). */
  queryLostPayments: 'query-lost-payments',
  /** A refund or chargeback from the channel side ends the order and takes the goods back. */
  channelReversals: 'channel-reversals',
  /** A reversal known by the time the payment lands ends the order without delivering it. */
  reversalBeforeDelivery: 'reversal-before-delivery',
  /** A delivered monthly-card order starts (or extends) its card's workflow. */
  monthlyCards: 'monthly-cards',
  /** An order risk decided REVIEW is held once paid (RISK_REVIEW) until an operator decides or the review times out. */
  riskReviewHold: 'risk-review-hold',
  /** A delivery takes the game's mode: over NATS or RabbitMQ it awaits the game's ack (republished on timeout). */
  brokerDelivery: 'broker-delivery',
  /** Calls to the game server go to the order's fulfillment task queue (PurchaseTiming.fulfillmentTaskQueue). */
  fulfillmentTaskQueue: 'fulfillment-task-queue',
  /** A revocation takes the game's mode: over NATS or RabbitMQ it awaits the game's ack (republished on timeout). */
  brokerRevocation: 'broker-revocation',
  /** Money for a closed order that the channel will not return (App Store) is held for a person, not left unbooked. */
  latePaymentHeld: 'late-payment-held',
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
  /** The channel cannot refund, or refused a refund for good (a final answer, not an outage). */
  refundRefused: 'REFUND_REFUSED',
} as const;

// ---- Monthly cards (workflows/monthly-card) ------------------------------------------------------

/** The durations of a card's days and of their deliveries (configured, so tests run a card in seconds). */
export interface MonthlyCardTiming
  extends Pick<
    PurchaseTiming,
    'deliveryAttemptTimeoutMs' | 'deliveryRetryInitialMs' | 'deliveryRetryMaxMs' | 'activityRetryInitialMs' | 'activityRetryMaxMs' | 'fulfillmentTaskQueue'
  > {
  /** GAME_DAY_MS: the default means the game's own day (time zone, reset hour), any other value days this long. */
  gameDayMs: number;
}

/** One card per (game, user, sku): its workflow id is the card id. */
export interface MonthlyCardInput {
  cardId: string;
  gameId: string;
  userId: string;
  sku: string;
  timing: MonthlyCardTiming;
}

/** The card's purchases changed (an order bought or reversed): the workflow reads them again. */
export const monthlyCardChangedSignal = defineSignal<[{ orderId: string; change: 'BOUGHT' | 'REVERSED' }]>('monthlyCardChanged');
export const MONTHLY_CARD_WORKFLOW = 'monthlyCard';

// ---- Reconciliation (workflows/reconciliation) --------------------------------------------------

/** One channel account's statement day, reconciled by one run (its id names the run's records). */
export interface ReconciliationRun {
  runId: string;
  channel: string;
  /** The channel's calendar day, `YYYY-MM-DD`. */
  date: string;
}

/** How a run ended, as its workflow reports it (the run's record has the detail). */
export interface ReconciliationOutcome extends ReconciliationRun {
  status: 'COMPLETED' | 'FAILED';
  /** Differences still open or held for the next day. */
  unsettled: number;
}

/** Workflow types and ids of reconciliation: one child workflow per run, so a run's history stays its own. */
export const RECONCILIATION = {
  scheduledWorkflow: 'scheduledReconciliation',
  requestWorkflow: 'reconcileRuns',
  runWorkflowId: (runId: string) => `recon-run-${runId}`,
  requestWorkflowId: (requestId: string) => `recon-request-${requestId}`,
  scheduleId: (taskQueue: string, channel: string) => `${taskQueue}-reconciliation-${channel}`,
} as const;

// ---- Store sweeps (issue 23) ----

/** One run of a store sweep: the account, the pass and its window (ISO 8601), fixed when it opens. */
export interface StoreSweepWindow {
  sweepId: string;
  channel: string;
  pass: 'FAILURES' | 'ALL' | 'VOIDED';
  start: string;
  end: string;
}

export const STORE_SWEEP = {
  workflow: 'storeSweep',
  scheduleId: (taskQueue: string, channel: string, pass: string) => `${taskQueue}-store-sweep-${channel}-${pass.toLowerCase()}`,
  scheduledWorkflowId: (channel: string, pass: string) => `store-sweep-${channel}-${pass.toLowerCase()}`,
} as const;

// ---- Consumption requests (issue 23) ----

/** A store's consumption request as the intake hands it on (Apple CONSUMPTION_REQUEST). */
export interface ConsumptionRequestInput {
  channel: string;
  transactionId: string;
  /** Our order, when the transaction names one (appAccountToken). */
  orderId?: string;
  reason?: string;
  /** When Apple signed the request (ISO 8601); the answer is due 12 hours later. */
  signedDate: string;
  source: 'CALLBACK' | 'SWEEP';
}

export const CONSUMPTION = {
  workflow: 'consumptionAnswer',
  /** One workflow per transaction: resends and sweep copies join it. */
  workflowId: (channel: string, transactionId: string) => `consumption-${channel}-${transactionId}`,
} as const;
