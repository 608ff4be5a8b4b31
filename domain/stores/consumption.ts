/**
 * The answer to a store's consumption request (Apple's CONSUMPTION_REQUEST before it decides a refund):
 * whether to answer at all, and what the player got of the purchase, from our order's facts. Pure.
 *
 * deliveryStatus: DELIVERED when the order was delivered (and, for a game that sends grant logs, the
 * grant is in its log); UNDELIVERED_SERVER_OUTAGE when delivery failed (DELIVERY_FAILED, or still
 * DELIVERING after failed attempts); UNDELIVERED_WRONG_ITEM when the store product was not the order's
 * (PRODUCT_MISMATCH); else UNDELIVERED_OTHER.
 */

export const CONSUMPTION_ANSWERS = ['OFF', 'ON'] as const;
export const PLAYER_CONSENT = ['ALL', 'PER_ORDER'] as const;
export const REFUND_PREFERENCES = ['DECLINE', 'GRANT_FULL', 'GRANT_PRORATED'] as const;
export type RefundPreference = (typeof REFUND_PREFERENCES)[number];

/** A game's setting (admin API): off by default; consent by the game's terms (ALL) or per order. */
export interface ConsumptionSettings {
  answers: (typeof CONSUMPTION_ANSWERS)[number];
  playerConsent: (typeof PLAYER_CONSENT)[number];
  sampleContentProvided: boolean;
  refundPreference?: RefundPreference;
}

export const CONSUMPTION_SETTINGS_OFF: ConsumptionSettings = { answers: 'OFF', playerConsent: 'ALL', sampleContentProvided: false };

export interface ConsumptionFacts {
  /** The order the transaction was bought for (absent: not one of ours). */
  order?: {
    status: string;
    statusReason: string | null;
    deliveredAt: string | null;
    /** Failed delivery attempts so far. */
    failedDeliveryAttempts: number;
    /** The create call's consumptionDataConsent. */
    consumptionDataConsent: boolean;
    /** Whether the game sends grant logs at all, and whether this order's grant is in one. */
    grantLog: { gameSendsLogs: boolean; granted: boolean; consumptionPercentage: number | null };
  };
  settings: ConsumptionSettings;
}

export type DeliveryStatus = 'DELIVERED' | 'UNDELIVERED_QUALITY_ISSUE' | 'UNDELIVERED_WRONG_ITEM' | 'UNDELIVERED_SERVER_OUTAGE' | 'UNDELIVERED_OTHER';

export interface ConsumptionBody {
  customerConsented: true;
  deliveryStatus: DeliveryStatus;
  sampleContentProvided: boolean;
  consumptionPercentage?: number;
  refundPreference?: RefundPreference;
}

export type ConsumptionDecision =
  | { outcome: 'SEND'; body: ConsumptionBody }
  | { outcome: 'OFF' | 'NO_CONSENT' | 'NOT_OUR_ORDER'; body?: undefined };

/** Every outcome a request ends with (kept with the body sent). */
export const CONSUMPTION_OUTCOMES = ['SENT', 'NO_CONSENT', 'OFF', 'MISSED', 'FAILED', 'NOT_OUR_ORDER'] as const;
export type ConsumptionOutcome = (typeof CONSUMPTION_OUTCOMES)[number];

/** Apple answers within 12 hours of signing the request, or decides without us. */
export const CONSUMPTION_ANSWER_WINDOW_MS = 12 * 3_600_000;

export function deliveryStatusOf(order: NonNullable<ConsumptionFacts['order']>): DeliveryStatus {
  if (order.statusReason === 'PRODUCT_MISMATCH') return 'UNDELIVERED_WRONG_ITEM';
  if (order.deliveredAt !== null) {
    const { gameSendsLogs, granted } = order.grantLog;
    return !gameSendsLogs || granted ? 'DELIVERED' : 'UNDELIVERED_OTHER';
  }
  if (order.statusReason === 'DELIVERY_FAILED') return 'UNDELIVERED_SERVER_OUTAGE';
  if (order.status === 'DELIVERING' && order.failedDeliveryAttempts > 0) return 'UNDELIVERED_SERVER_OUTAGE';
  return 'UNDELIVERED_OTHER';
}

export function decideConsumptionAnswer({ order, settings }: ConsumptionFacts): ConsumptionDecision {
  if (!order) return { outcome: 'NOT_OUR_ORDER' };
  if (settings.answers !== 'ON') return { outcome: 'OFF' };
  // Without the player's consent nothing is sent (Apple refuses customerConsented other than true).
  if (settings.playerConsent === 'PER_ORDER' && !order.consumptionDataConsent) return { outcome: 'NO_CONSENT' };
  const percentage = order.grantLog.consumptionPercentage;
  const consumptionPercentage = percentage === null ? undefined : Math.min(100_000, Math.max(0, Math.round(percentage)));
  // GRANT_PRORATED needs a percentage above 0; without one, no preference is stated.
  const preference = settings.refundPreference;
  const refundPreference = preference === 'GRANT_PRORATED' && !(consumptionPercentage !== undefined && consumptionPercentage > 0) ? undefined : preference;
  return {
    outcome: 'SEND',
    body: {
      customerConsented: true,
      deliveryStatus: deliveryStatusOf(order),
      sampleContentProvided: settings.sampleContentProvided,
      ...(consumptionPercentage !== undefined && { consumptionPercentage }),
      ...(refundPreference !== undefined && { refundPreference }),
    },
  };
}

/** When an unanswered request is MISSED. */
export const consumptionDeadline = (signedDate: string): Date => new Date(Date.parse(signedDate) + CONSUMPTION_ANSWER_WINDOW_MS);
