/**
 * An order's whole story as one ordered list, oldest first: what the console's order page shows
 * under *Timeline*. Pure: the facts come gathered (store/order-story.ts); this only decides what
 * each fact says and where it goes.
 */

export type TimelineKind =
  | 'CREATED'
  | 'ROUTING'
  | 'PAYMENT_OPEN'
  | 'NOTIFICATION'
  | 'PAYMENT_RESULT'
  | 'STATUS'
  | 'DELIVERY'
  | 'REFUND'
  | 'REVOCATION'
  | 'OPS_ACTION';

export interface TimelineEvent {
  at: string;
  kind: TimelineKind;
  title: string;
  detail?: string;
  /** The money the fact names, in minor units (the console shows it in major units). */
  amount?: Money;
}

interface Money {
  currency: string;
  value: number;
}

export interface TimelineFacts {
  createdAt: Date;
  amount: Money;
  routing?: {
    chosen?: string;
    reason?: string;
    candidates?: { channel: string; excludedBecause?: string }[];
  } | null;
  history: { status: string; reason: string | null; at: Date }[];
  channelAttempts: { attempt: number; channel: string; outcome: string; error: string | null; at: Date }[];
  notifications: { channel: string; notificationId: string; result: string; amount: number | null; currency: string | null; receivedCount: number; firstReceivedAt: Date }[];
  paymentAttempts: { channel: string; result: string; amount: number | null; currency: string | null; createdAt: Date }[];
  delivery: { attempts: number; status: string; lastStatusCode: number | null; lastError: string | null; deliveredAt: Date | null; updatedAt: Date } | null;
  refund: { status: string; reason: string; amount: number; currency: string; createdAt: Date; updatedAt: Date } | null;
  revocation: { status: string; reason: string; attempts: number; lastError: string | null; createdAt: Date; revokedAt: Date | null } | null;
  opsActions: { operator: string; action: string; reason: string; outcome: string; detail: string | null; createdAt: Date }[];
}

/** Facts at the same instant keep the story's order: a status follows the step that caused it. */
const RANK: Record<TimelineKind, number> = {
  CREATED: 0,
  ROUTING: 1,
  PAYMENT_OPEN: 2,
  OPS_ACTION: 3,
  NOTIFICATION: 4,
  PAYMENT_RESULT: 5,
  DELIVERY: 6,
  REFUND: 7,
  REVOCATION: 8,
  STATUS: 9,
};

const amountOf = (value: number | null, currency: string | null) => (value !== null && currency !== null ? { amount: { currency, value } } : {});

export function timeline(f: TimelineFacts): TimelineEvent[] {
  const events: TimelineEvent[] = [{ at: iso(f.createdAt), kind: 'CREATED', title: 'Created', amount: f.amount }];
  if (f.routing?.chosen) {
    const left = (f.routing.candidates ?? []).filter((c) => c.excludedBecause).map((c) => `${c.channel}: ${c.excludedBecause}`);
    events.push({
      at: iso(f.createdAt),
      kind: 'ROUTING',
      title: `Routed to ${f.routing.chosen}${f.routing.reason ? ` (${f.routing.reason})` : ''}`,
      ...(left.length > 0 && { detail: `left out: ${left.join(', ')}` }),
    });
  }
  for (const a of f.channelAttempts) {
    events.push({ at: iso(a.at), kind: 'PAYMENT_OPEN', title: `Payment attempt ${a.attempt} at ${a.channel}: ${a.outcome}`, ...(a.error && { detail: a.error }) });
  }
  for (const n of f.notifications) {
    const repeated = n.receivedCount > 1 ? ` (received ${n.receivedCount} times)` : '';
    events.push({ at: iso(n.firstReceivedAt), kind: 'NOTIFICATION', title: `${n.channel} notified ${n.result}${repeated}`, detail: `notification ${n.notificationId}`, ...amountOf(n.amount, n.currency) });
  }
  for (const p of f.paymentAttempts) {
    events.push({ at: iso(p.createdAt), kind: 'PAYMENT_RESULT', title: `Payment result ${p.result} from ${p.channel}`, ...amountOf(p.amount, p.currency) });
  }
  for (const h of f.history) {
    events.push({ at: iso(h.at), kind: 'STATUS', title: h.status, ...(h.reason && { detail: h.reason }) });
  }
  if (f.delivery && f.delivery.attempts > 0) events.push(deliveryEvent(f.delivery));
  if (f.refund) {
    events.push({ at: iso(f.refund.createdAt), kind: 'REFUND', title: `Refund ${f.refund.status}`, detail: f.refund.reason, ...amountOf(f.refund.amount, f.refund.currency) });
  }
  if (f.revocation) {
    const r = f.revocation;
    events.push({ at: iso(r.revokedAt ?? r.createdAt), kind: 'REVOCATION', title: `Revocation (${r.reason}): ${r.status} after ${r.attempts} attempt(s)`, ...(r.lastError && { detail: r.lastError }) });
  }
  for (const a of f.opsActions) {
    events.push({ at: iso(a.createdAt), kind: 'OPS_ACTION', title: `${a.operator}: ${a.action} ${a.outcome}`, detail: a.detail ? `${a.reason} — ${a.detail}` : a.reason });
  }
  return events
    .map((e, i) => ({ e, i }))
    .sort((x, y) => x.e.at.localeCompare(y.e.at) || RANK[x.e.kind] - RANK[y.e.kind] || x.i - y.i)
    .map(({ e }) => e);
}

function deliveryEvent(d: NonNullable<TimelineFacts['delivery']>): TimelineEvent {
  const last = d.lastError ? `last error: ${d.lastError}` : d.lastStatusCode !== null ? `last answer: HTTP ${d.lastStatusCode}` : undefined;
  return {
    at: iso(d.deliveredAt ?? d.updatedAt),
    kind: 'DELIVERY',
    title: `Delivery ${d.status} after ${d.attempts} attempt(s)`,
    ...(last && { detail: last }),
  };
}

const iso = (d: Date) => d.toISOString();
