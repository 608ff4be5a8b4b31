/**
 * A small pure model of one order, written from the contract (README, docs/api.md, the issue) and not
 * from `domain/orders/status.ts`: the tests compare the system with it, never the code with itself.
 *
 * The model knows, for each event, which statuses the order may settle in (a set: some outcomes race
 * in the system too) and which refusal the caller gets. The runner waits until the observed status is
 * in the set, then narrows the model to it (`narrow`).
 */

export type Status =
  | 'PENDING_PAYMENT'
  | 'PAID'
  | 'DELIVERING'
  | 'DELIVERED'
  | 'CLOSED'
  | 'REJECTED'
  | 'REFUNDED'
  | 'MANUAL_REVIEW'
  | 'CHARGED_BACK'
  | 'RISK_REVIEW';

/** How one run's world behaves, fixed at its start (an `fc.record`, so it shrinks with the commands). */
export interface Setup {
  risk: 'ALLOW' | 'REVIEW' | 'DENY';
  inStock: boolean;
  /** Opening the channel payment: it opens, keeps timing out (until the open budget), or refuses for good. */
  channel: 'OPENS' | 'TIMES_OUT' | 'REFUSES';
  /** False: we cannot return money through the channel (App Store-like). */
  refundable: boolean;
  /** The channel wants to hear of the delivery (Google-like). */
  confirmsDelivery: boolean;
  /** A silent channel is asked about the payment (lost notifications). */
  queriesLostPayments: boolean;
  amount: { currency: 'CNY' | 'JPY'; value: number };
}

/** How the game server answers its next delivery attempts. */
export type GameServerMode = 'OK' | 'FAILS' | 'HANGS' | 'TAKES_AND_FAILS';
export type PaymentKind = 'EXACT' | 'OTHER_AMOUNT' | 'WRONG_PRODUCT' | 'FAILED';
export type OpsAction = 'RETRY_DELIVERY' | 'REFUND' | 'DELIVER' | 'RISK_APPROVE' | 'RISK_DENY';
export type ReversalCause = 'CHANNEL_REFUND' | 'CHARGEBACK' | 'REVOKED';

export type ModelEvent =
  | { kind: 'CREATE' }
  | { kind: 'CREATE_AGAIN' }
  | { kind: 'CREATE_CONFLICT' }
  /** `raced`: the game's receipt carries the same payment (same dedupe key) at the same moment as the notification. */
  | { kind: 'PAY'; payment: PaymentKind; duplicate: boolean; raced?: boolean }
  /** The payer paid, the notification is lost: the channel's query finds it. */
  | { kind: 'PAY_SILENTLY' }
  | { kind: 'CANCEL' }
  | { kind: 'OPS'; action: OpsAction }
  /** An operator closes the order (the ops route's close: offered for an unpaid order only). */
  | { kind: 'OPS_CLOSE' }
  /** Customer service refunds a DELIVERED order (the ops route: a reversal with OPS_REFUND). */
  | { kind: 'OPS_REFUND_DELIVERED' }
  /** `partial`: the channel returned part of the payment (a store's partial refund). */
  | { kind: 'REVERSAL'; cause: ReversalCause; partial?: boolean }
  | { kind: 'GAME_SERVER'; mode: GameServerMode }
  /** The pending deadline passes: the payment timeout, the delivery deadline or the review timeout. */
  | { kind: 'DEADLINE' };

export interface ModelState {
  /** Undefined until created. */
  status?: Status;
  reason?: string;
  /** The order's workflow has ended: later notifications go to the late-payment workflow. */
  ended: boolean;
  gameServer: GameServerMode;
  /** The payer's money reached the channel (each payment once). */
  payments: number;
  /** A payment the channel holds that nobody told us of (its query will find it). */
  silentPayment: boolean;
  /** A notification was sent, so a duplicate can repeat it. */
  notified: boolean;
  /** The game server may hold the goods without the order being DELIVERED (it took them and answered 500). */
  goodsTakenUnanswered: boolean;
  /** The order went through a review (MANUAL_REVIEW or RISK_REVIEW), for coverage. */
  reviewed?: 'MANUAL' | 'RISK';
  /** A late payment was decided (one late-payment workflow per order). */
  latePaymentDecided: boolean;
  /** An operator's refund of the delivered order failed at the channel (unrefundable). */
  opsRefundFailed: boolean;
  /**
   * Closed by this very command or burst: its workflow may still take a payment that came meanwhile in
   * its own late branch (which then waits for a person) before it ends. Cleared once settled.
   */
  closing?: boolean;
  /** The channel returned part of the money (booked; the order went on as it was). */
  partiallyRefunded?: boolean;
}

export interface Outcome {
  /** The states the order may settle in (at least one). */
  next: ModelState[];
  /** The caller's refusal: an `error.code`, or ANSWERED_UNDEFINED for a create call that finds the order ended. */
  refusal?: string;
}

export const initialState: ModelState = {
  ended: false,
  gameServer: 'OK',
  payments: 0,
  silentPayment: false,
  notified: false,
  goodsTakenUnanswered: false,
  latePaymentDecided: false,
  opsRefundFailed: false,
};

const PAID_STATUSES: readonly Status[] = ['PAID', 'DELIVERING', 'MANUAL_REVIEW', 'RISK_REVIEW', 'DELIVERED'];

/** Whether the event makes sense to send now (fast-check's `check()`): the order exists, and so on. */
export function canSend(setup: Setup, state: ModelState, event: ModelEvent): boolean {
  if (event.kind === 'CREATE') return state.status === undefined;
  if (state.status === undefined) return false;
  switch (event.kind) {
    case 'PAY':
      // A duplicate repeats the last notification; a payer pays once (a failed attempt may be retried).
      if (event.duplicate) return state.notified;
      // Only an order whose channel payment was opened can be paid.
      return state.payments === 0 && !state.silentPayment && !(state.status === 'REJECTED' || state.reason === 'CHANNEL_UNAVAILABLE');
    case 'PAY_SILENTLY':
      return setup.queriesLostPayments && state.status === 'PENDING_PAYMENT' && state.payments === 0 && !state.silentPayment;
    case 'REVERSAL':
      // The channel returns only money it holds for an order we booked as paid; part of it (half of
      // at least 2 units) once.
      if (event.partial && (state.partiallyRefunded || setup.amount.value < 2)) return false;
      return PAID_STATUSES.includes(state.status) && state.payments > 0;
    case 'OPS_REFUND_DELIVERED':
      return state.status === 'DELIVERED';
    case 'DEADLINE':
      return pendingDeadline(setup, state) !== undefined;
    default:
      return true;
  }
}

/** The deadline the order waits on in this state, if any. */
export function pendingDeadline(setup: Setup, state: ModelState): 'PAYMENT' | 'DELIVERY' | 'REVIEW' | undefined {
  if (state.ended) return undefined;
  if (state.status === 'PENDING_PAYMENT') return 'PAYMENT';
  if (state.status === 'DELIVERING' && setup.refundable) return 'DELIVERY';
  if (state.status === 'RISK_REVIEW') return 'REVIEW';
  return undefined;
}

const at = (state: ModelState, status: Status, reason?: string, extra: Partial<ModelState> = {}): ModelState => ({
  ...state,
  status,
  reason,
  ended: ENDS.includes(status),
  ...extra,
});
/** Statuses in which the purchase workflow ends (MANUAL_REVIEW waits for a person). */
const ENDS: readonly Status[] = ['DELIVERED', 'CLOSED', 'REJECTED', 'REFUNDED', 'CHARGED_BACK'];

/** Delivery starts: settled DELIVERED when the game server takes it, else DELIVERING until the deadline. */
function deliver(state: ModelState): ModelState[] {
  const taken = state.gameServer === 'TAKES_AND_FAILS' ? { goodsTakenUnanswered: true } : {};
  if (state.gameServer === 'OK') return [at(state, 'DELIVERED')];
  return [at(state, 'DELIVERING', undefined, taken)];
}

/** An exact payment lands on an open order. */
function paid(setup: Setup, state: ModelState): ModelState[] {
  if (setup.risk === 'REVIEW' && setup.refundable) return [at(state, 'RISK_REVIEW', undefined, { reviewed: 'RISK' })];
  return deliver(state);
}

const REVERSAL_STATUS: Record<ReversalCause, [Status, string]> = {
  CHANNEL_REFUND: ['REFUNDED', 'CHANNEL_REFUND'],
  CHARGEBACK: ['CHARGED_BACK', 'CHARGEBACK'],
  REVOKED: ['REFUNDED', 'REVOKED'],
};

export function step(setup: Setup, state: ModelState, event: ModelEvent): Outcome {
  const one = (next: ModelState): Outcome => ({ next: [next] });
  const stays: Outcome = { next: [state] };
  const s = state.status;
  switch (event.kind) {
    case 'CREATE': {
      if (setup.risk === 'DENY' || !setup.inStock) return one(at(state, 'REJECTED', setup.risk === 'DENY' ? 'RISK' : 'OUT_OF_STOCK'));
      if (setup.channel !== 'OPENS') return { next: [at(state, 'CLOSED', 'CHANNEL_UNAVAILABLE')], refusal: 'CHANNEL_UNAVAILABLE' };
      return one(at(state, 'PENDING_PAYMENT'));
    }
    case 'CREATE_AGAIN':
      // The same request joins the running order (or, once it ended, the caller reads the books).
      if (state.ended) return { ...stays, refusal: 'ANSWERED_UNDEFINED' };
      return s === 'CLOSED' && state.reason === 'CHANNEL_UNAVAILABLE' ? { ...stays, refusal: 'CHANNEL_UNAVAILABLE' } : stays;
    case 'CREATE_CONFLICT':
      return { ...stays, refusal: state.ended ? 'ANSWERED_UNDEFINED' : 'IDEMPOTENCY_CONFLICT' };
    case 'PAY': {
      const succeeded = event.payment !== 'FAILED';
      const base: ModelState = { ...state, notified: true, payments: state.payments + (succeeded && !event.duplicate ? 1 : 0) };
      if (event.duplicate) return stays; // same notificationId: deduplicated wherever it lands
      if (state.ended) {
        // The late-payment workflow refunds money for an order closed unpaid, once; anything else is ignored.
        if (succeeded && s === 'CLOSED' && !state.latePaymentDecided) {
          // Money the channel will not return (App Store) is booked as held, for a person (seeds.json): by the
          // late-payment workflow (no workflow waits on it), or, when it came as the order closed, by the
          // purchase's own late branch, which waits for the operator's resolve.
          if (!setup.refundable) {
            const held = at(base, 'MANUAL_REVIEW', 'LATE_PAYMENT', { latePaymentDecided: true, reviewed: 'MANUAL', ended: true, closing: false });
            return { next: state.closing ? [held, { ...held, ended: false }] : [held] };
          }
          return one(at(base, 'REFUNDED', 'LATE_PAYMENT', { latePaymentDecided: true }));
        }
        return one({ ...base, latePaymentDecided: state.latePaymentDecided || succeeded });
      }
      if (s !== 'PENDING_PAYMENT') return one(base); // a second payment result for an order already paid: recorded, nothing moves
      if (!succeeded) return one(base); // the payer may try again until the timeout
      if (event.payment !== 'EXACT') return one(at(base, 'MANUAL_REVIEW', event.payment === 'OTHER_AMOUNT' ? 'AMOUNT_MISMATCH' : 'PRODUCT_MISMATCH', { reviewed: 'MANUAL' }));
      return { next: paid(setup, base) };
    }
    case 'PAY_SILENTLY':
      // Found by the next query (at the latest the one just before the payment timeout).
      return { next: paid(setup, { ...state, payments: state.payments + 1 }) };
    case 'CANCEL':
      if (state.ended) return { ...stays, refusal: 'ORDER_FINAL' };
      if (s !== 'PENDING_PAYMENT') return { ...stays, refusal: 'ORDER_NOT_CANCELLABLE' };
      return { next: [at(state, 'CLOSED', 'CANCELLED_BY_GAME', { closing: true })] };
    case 'OPS_CLOSE':
      // The ops contract offers close for an unpaid order only; it closes as the game's cancel does.
      if (state.ended || s !== 'PENDING_PAYMENT') return { ...stays, refusal: 'OPS_ACTION_NOT_ALLOWED' };
      return { next: [at(state, 'CLOSED', 'CANCELLED_BY_GAME', { closing: true })] };
    case 'OPS':
      return ops(setup, state, event.action);
    case 'OPS_REFUND_DELIVERED':
      // Our refund through a channel that cannot refund fails: the order stays DELIVERED, its money with us.
      if (!setup.refundable) return one({ ...state, opsRefundFailed: true });
      return one(at(state, 'REFUNDED', 'OPS_REFUND'));
    case 'REVERSAL': {
      // Part of the money: booked, and the order goes on as it was (domain/orders/reversals.ts).
      if (event.partial) return one({ ...state, partiallyRefunded: true });
      const [to, why] = REVERSAL_STATUS[event.cause];
      return one(at(state, to, why, { ended: true }));
    }
    case 'GAME_SERVER': {
      const next = { ...state, gameServer: event.mode };
      // A delivery in progress takes the next attempt's answer.
      if (s === 'DELIVERING' && !state.ended) return { next: deliver(next) };
      return one(next);
    }
    case 'DEADLINE':
      switch (pendingDeadline(setup, state)) {
        case 'PAYMENT':
          return one(at(state, 'CLOSED', 'PAYMENT_TIMEOUT'));
        case 'DELIVERY':
          return one(at(state, 'REFUNDED', 'DELIVERY_FAILED'));
        case 'REVIEW':
          return one(at(state, 'REFUNDED', 'RISK_REVIEW_TIMEOUT'));
        default:
          return stays;
      }
  }
}

/** Operator actions, by the statuses the ops contract names (docs/api.md). */
const OPS_STATUSES: Record<OpsAction, readonly Status[]> = {
  RETRY_DELIVERY: ['DELIVERING'],
  REFUND: ['DELIVERING', 'MANUAL_REVIEW'],
  DELIVER: ['MANUAL_REVIEW'],
  RISK_APPROVE: ['RISK_REVIEW'],
  RISK_DENY: ['RISK_REVIEW'],
};

function ops(setup: Setup, state: ModelState, action: OpsAction): Outcome {
  const stays: Outcome = { next: [state] };
  if (state.ended) return { ...stays, refusal: 'ORDER_FINAL' };
  if (!state.status || !OPS_STATUSES[action].includes(state.status)) return { ...stays, refusal: 'OPS_ACTION_NOT_ALLOWED' };
  if ((action === 'REFUND' || action === 'RISK_DENY') && !setup.refundable) return { ...stays, refusal: 'OPS_ACTION_NOT_ALLOWED' };
  switch (action) {
    case 'RETRY_DELIVERY':
      return { next: deliver(state) };
    case 'REFUND':
      return { next: [at(state, 'REFUNDED', 'OPS_REFUND')] };
    case 'DELIVER':
    case 'RISK_APPROVE':
      return { next: deliver(state) };
    case 'RISK_DENY':
      return { next: [at(state, 'REFUNDED', 'RISK_DENIED')] };
  }
}

/**
 * Events sent at the same moment (a burst): what any order of them allows — the states reached and each
 * event's possible refusals; undefined when one of them makes no sense on some order.
 */
export function outcomeInAnyOrder(setup: Setup, state: ModelState, events: ModelEvent[]): { next: ModelState[]; refusals: Set<string | undefined>[] } | undefined {
  const next = new Map<string, ModelState>();
  const refusals = events.map(() => new Set<string | undefined>());
  const walk = (current: ModelState, left: number[]): boolean => {
    if (left.length === 0) {
      next.set(JSON.stringify(current), current);
      return true;
    }
    return left.every((i) => {
      const event = events[i]!;
      if (!canSend(setup, current, event)) return false;
      const outcome = step(setup, current, event);
      refusals[i]!.add(outcome.refusal);
      return outcome.next.every((after) => walk(after, left.filter((j) => j !== i)));
    });
  };
  return walk(state, events.map((_, i) => i)) ? { next: [...next.values()], refusals } : undefined;
}

/**
 * Narrows the possible next states to the one whose status the system shows. Where only the purchase
 * workflow's end tells two apart (a late payment held by its own late branch, or by the late-payment
 * workflow after it ended), `purchaseRunning` is asked.
 */
export async function narrow(
  next: readonly ModelState[],
  observed: Status | undefined,
  purchaseRunning: () => Promise<boolean>,
): Promise<ModelState | undefined> {
  const candidates = next.filter((s) => s.status === observed);
  if (!candidates.some((s) => s.ended) || !candidates.some((s) => !s.ended)) return candidates[0];
  const running = await purchaseRunning();
  return candidates.find((s) => s.ended === !running);
}

/** What a run reached, for coverage: terminal statuses with their reasons, and reviews resolved. */
export function outcomeOf(state: ModelState): string | undefined {
  if (!state.status || !state.ended) return undefined;
  if (state.status === 'REJECTED') return 'REJECTED';
  if (state.status === 'CHARGED_BACK') return 'CHARGED_BACK';
  if (state.status === 'DELIVERED') return 'DELIVERED';
  return `${state.status}:${state.reason}`;
}

export function reviewOutcomeOf(state: ModelState): string | undefined {
  if (!state.reviewed || !state.ended) return undefined;
  if (state.status === 'DELIVERED') return `${state.reviewed}_REVIEW:DELIVERED`;
  if (state.status === 'REFUNDED') return `${state.reviewed}_REVIEW:REFUNDED`;
  return undefined;
}

/** Every outcome a CI run must reach (issue 24's coverage list). */
export const REQUIRED_OUTCOMES = [
  'DELIVERED',
  'REFUNDED:DELIVERY_FAILED',
  'REFUNDED:OPS_REFUND',
  'REFUNDED:LATE_PAYMENT',
  'REFUNDED:CHANNEL_REFUND',
  'CLOSED:PAYMENT_TIMEOUT',
  'CLOSED:CANCELLED_BY_GAME',
  'CLOSED:CHANNEL_UNAVAILABLE',
  'REJECTED',
  'CHARGED_BACK',
  'MANUAL_REVIEW:DELIVERED',
  'MANUAL_REVIEW:REFUNDED',
  'RISK_REVIEW:DELIVERED',
  'RISK_REVIEW:REFUNDED',
] as const;

/** Every event the search and the generators draw from. */
export const ALL_EVENTS: readonly ModelEvent[] = [
  { kind: 'CREATE' },
  { kind: 'CREATE_AGAIN' },
  { kind: 'CREATE_CONFLICT' },
  ...(['EXACT', 'OTHER_AMOUNT', 'WRONG_PRODUCT', 'FAILED'] as const).flatMap((payment) => [
    { kind: 'PAY' as const, payment, duplicate: false },
    { kind: 'PAY' as const, payment, duplicate: true },
  ]),
  { kind: 'PAY_SILENTLY' },
  { kind: 'PAY', payment: 'EXACT', duplicate: false, raced: true },
  { kind: 'CANCEL' },
  { kind: 'OPS_CLOSE' },
  ...(['RETRY_DELIVERY', 'REFUND', 'DELIVER', 'RISK_APPROVE', 'RISK_DENY'] as const).map((action) => ({ kind: 'OPS' as const, action })),
  { kind: 'OPS_REFUND_DELIVERED' },
  ...(['CHANNEL_REFUND', 'CHARGEBACK', 'REVOKED'] as const).map((cause) => ({ kind: 'REVERSAL' as const, cause })),
  { kind: 'REVERSAL', cause: 'CHANNEL_REFUND', partial: true },
  ...(['OK', 'FAILS', 'HANGS', 'TAKES_AND_FAILS'] as const).map((mode) => ({ kind: 'GAME_SERVER' as const, mode })),
  { kind: 'DEADLINE' },
];

export interface FoundPath {
  setup: Setup;
  events: ModelEvent[];
}

/**
 * Breadth-first search of the model's graph from a fresh order, over every setup: the shortest event
 * path to each outcome (the coverage a run must be able to reach, and the path to drive when random
 * runs missed it).
 */
export function searchOutcomes(setups: readonly Setup[], maxDepth = 6): Map<string, FoundPath> {
  const found = new Map<string, FoundPath>();
  for (const setup of setups) {
    let frontier: { state: ModelState; events: ModelEvent[] }[] = [{ state: initialState, events: [] }];
    const seen = new Set<string>();
    for (let depth = 0; depth < maxDepth && frontier.length > 0; depth++) {
      const next: typeof frontier = [];
      for (const { state, events } of frontier) {
        for (const event of ALL_EVENTS) {
          if (!canSend(setup, state, event)) continue;
          for (const after of step(setup, state, event).next) {
            const path = [...events, event];
            for (const outcome of [outcomeOf(after), reviewOutcomeOf(after)]) {
              if (outcome && (!found.has(outcome) || found.get(outcome)!.events.length > path.length)) found.set(outcome, { setup, events: path });
            }
            const key = JSON.stringify(after);
            if (seen.has(key)) continue;
            seen.add(key);
            next.push({ state: after, events: path });
          }
        }
      }
      frontier = next;
    }
  }
  return found;
}

/** Every combination of the setup's switches (one amount each): the search's universe. */
export function allSetups(): Setup[] {
  const setups: Setup[] = [];
  for (const risk of ['ALLOW', 'REVIEW', 'DENY'] as const)
    for (const inStock of [true, false])
      for (const channel of ['OPENS', 'TIMES_OUT', 'REFUSES'] as const)
        for (const refundable of [true, false])
          for (const confirmsDelivery of [false, true])
            for (const queriesLostPayments of [false, true])
              setups.push({ risk, inStock, channel, refundable, confirmsDelivery, queriesLostPayments, amount: { currency: 'CNY', value: 600 } });
  return setups;
}
