import { createHash } from 'node:crypto';

/**
 * The order id is derived from the game and its idempotency key, so every retry of the same
 * purchase names the same order (and the same workflow) without a lookup. Formatted as an
 * RFC 9562 version 8 (custom) UUID.
 */
export function orderIdFor(gameId: string, idempotencyKey: string): string {
  const h = createHash('sha256').update(`${gameId}\u0000${idempotencyKey}`).digest();
  h[6] = (h[6] & 0x0f) | 0x80;
  h[8] = (h[8] & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const purchaseWorkflowId = (orderId: string) => `order-${orderId}`;
/** The order a purchase or late-payment workflow id names, if it names one. */
export function orderIdOfWorkflow(workflowId: string): string | undefined {
  const match = /^(?:order|late-payment|reversal)-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(workflowId);
  return match?.[1];
}
export const latePaymentWorkflowId = (orderId: string) => `late-payment-${orderId}`;
export const reversalWorkflowId = (orderId: string) => `reversal-${orderId}`;
export const deliveryIdFor = (orderId: string) => `dlv_${orderId}`;
export const refundIdFor = (orderId: string) => `rf_${orderId}`;

/** A monthly card: one per (game, user, sku), so buying again extends it; also its workflow's id. */
export function monthlyCardIdFor(gameId: string, userId: string, sku: string): string {
  return `mc_${createHash('sha256').update(`${gameId}\u0000${userId}\u0000${sku}`).digest('hex').slice(0, 32)}`;
}
/** A card day's deliveryId: the game deduplicates by it, like an order's. */
export const cardDayDeliveryId = (cardId: string, day: number) => `${cardId}:${day}`;

/** Stable hash of a request body with sorted keys, to tell a retry from a different request. */
export function requestHash(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
