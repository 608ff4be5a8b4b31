import { ACCOUNT_OWNER, type AccountKind } from '../domain/ledger/accounts';
import {
  MONEY_STAGES,
  isReversal,
  ledgerEventId,
  legOf,
  type LedgerEventKind,
  type MoneyStage,
  type Posting,
  type ReversalKind,
} from '../domain/ledger/events';
import type { Money } from '../domain/money';
import type { RunSql } from '../infra/db';
import { NOW_UTC, isoOf, join, raw, sql, type Sql } from './sql';

/**
 * The ledger's journal: immutable, balanced entries (domain/ledger decides the postings), each
 * written once by its event id, in the same SQL statement as the business event it records.
 *
 * The order module's transitions carry them as fragments: CTEs that read the CTE
 * `moved(id, game_id, channel)` of `transitionOrder`, so an entry exists exactly when the order
 * moved. Amounts come from the event (what was paid) or, for money moving on inside our books
 * (delivered, released), from what the journal holds for the order.
 */

/** One entry per row of `source`: a CTE with (event_id, order_id, game_id, channel, currency, amount[, stage]). */
function entryCtes(
  name: string,
  kind: LedgerEventKind,
  source: Sql,
  opts: { reference?: Sql; memo?: string; /** The leg backwards: a correction that gives back. */ reversed?: boolean } = {},
): Sql {
  const src = raw(`journal_${name}_src`);
  const entry = raw(`journal_${name}_entry`);
  const leg = (stage?: MoneyStage) => legOf(kind, stage);
  // A reversal's debit depends on where the order's money sat (the source's stage column).
  const debit = isReversal(kind)
    ? sql`CASE s.stage ${join(
        MONEY_STAGES.map((stage) => sql`WHEN ${stage}::text THEN ${accountSql(leg(stage).debit)}`),
        ' ',
      )} END`
    : accountSql(leg().debit);
  const credit = accountSql(leg(isReversal(kind) ? 'SUSPENSE' : undefined).credit);
  const [first, second] = opts.reversed ? [credit, debit] : [debit, credit];
  return sql`${src} AS (${source}),
    ${entry} AS (
      INSERT INTO journal_entries (event_id, kind, order_id, game_id, channel, currency, amount, reference, memo, effective_at)
      SELECT s.event_id, ${kind}::text, s.order_id, s.game_id, s.channel, s.currency, s.amount,
        ${opts.reference ?? sql`NULL`}::text, ${opts.memo ?? null}::text, ${NOW_UTC}
      FROM ${src} s WHERE s.amount > 0
      ON CONFLICT (event_id) DO NOTHING
      RETURNING id, event_id, currency, amount
    ), ${raw(`journal_${name}_postings`)} AS (
      INSERT INTO journal_postings (entry_id, leg, account, currency, amount)
      SELECT e.id, 1, ${first}, e.currency, e.amount FROM ${entry} e JOIN ${src} s USING (event_id)
      UNION ALL
      SELECT e.id, 2, ${second}, e.currency, -e.amount FROM ${entry} e JOIN ${src} s USING (event_id)
    )`;
}

/** An account of the source row `s` (channel and game columns), in SQL. */
function accountSql(kind: AccountKind): Sql {
  switch (ACCOUNT_OWNER[kind]) {
    case 'platform':
      return sql`${kind}::text`;
    case 'channel':
      return sql`(${kind}::text || ':' || s.channel)`;
    case 'game':
      return sql`(${kind}::text || ':' || s.game_id)`;
  }
}

/** An account of the moved order `m`, in SQL. */
const accountOf = (kind: AccountKind): Sql =>
  ACCOUNT_OWNER[kind] === 'platform'
    ? sql`${kind}::text`
    : sql`(${kind}::text || ':' || ${ACCOUNT_OWNER[kind] === 'channel' ? sql`m.channel` : sql`m.game_id`})`;

/** What the journal holds for the moved order in one of its accounts, positive when it is a credit (owed or held). */
const creditBalance = (kind: AccountKind) => sql`coalesce((
    SELECT -sum(p.amount) FROM journal_entries je JOIN journal_postings p ON p.entry_id = je.id
    WHERE je.order_id = m.id AND p.account = ${accountOf(kind)}), 0)`;

/** A fixed amount for the moved order. */
const orderEvent = (eventId: (orderId: string) => string, amount: Money) => sql`
  SELECT ${eventId('')}::text || m.id AS event_id, m.id AS order_id, m.game_id, m.channel,
    ${amount.currency}::text AS currency, ${amount.value}::bigint AS amount
  FROM moved m`;

/** The moved order's whole credit balance of `from` (per currency), moved on. */
const sweep = (eventId: (orderId: string) => string, from: AccountKind) => sql`
  SELECT ${eventId('')}::text || m.id AS event_id, m.id AS order_id, m.game_id, m.channel, p.currency, -sum(p.amount) AS amount
  FROM moved m JOIN journal_entries je ON je.order_id = m.id JOIN journal_postings p ON p.entry_id = je.id
  WHERE p.account = ${accountOf(from)}
  GROUP BY m.id, m.game_id, m.channel, p.currency`;

// ---- Fragments for the order's transitions --------------------------------------------------------

/** PAID: the channel took the order's amount (clearing ↔ deferred revenue). */
export const journalPaymentCaptured = (paid: Money, channelTradeNo?: string): Sql =>
  entryCtes('captured', 'PAYMENT_CAPTURED', orderEvent(ledgerEventId.captured, paid), { reference: sql`${channelTradeNo ?? null}` });

/** MANUAL_REVIEW: received, but not what the order asked; held in suspense until a person decides. */
export const journalPaymentHeld = (paid: Money, channelTradeNo?: string): Sql =>
  entryCtes('held', 'PAYMENT_HELD', orderEvent(ledgerEventId.held, paid), { reference: sql`${channelTradeNo ?? null}` });

/** DELIVERING: money held for review becomes owed goods (nothing for an order that was paid exactly). */
export const journalReviewReleased: Sql = entryCtes('released', 'REVIEW_RELEASED', sweep(ledgerEventId.released, 'suspense'));

/** DELIVERED: what the order's deferred revenue holds is earned. */
export const journalGoodsDelivered: Sql = entryCtes('delivered', 'GOODS_DELIVERED', sweep(ledgerEventId.delivered, 'deferred_revenue'));

/** Where the moved order's money sits now: owed, held, earned (delivered); suspense when the books never saw it. */
const STAGE_OF_MOVED = sql`CASE
    WHEN ${creditBalance('deferred_revenue')} > 0 THEN 'DEFERRED'
    WHEN ${creditBalance('suspense')} > 0 THEN 'SUSPENSE'
    WHEN EXISTS (SELECT 1 FROM journal_entries je WHERE je.order_id = m.id AND je.kind = 'GOODS_DELIVERED') THEN 'EARNED'
    ELSE 'SUSPENSE' END`;

/**
 * Money returned for the moved order, taken from wherever it sits (see STAGE_OF_MOVED): the
 * reversal of the stage it reached. `eventId` names the event (one per refund or chargeback).
 */
function reversal(name: string, kind: ReversalKind, eventId: Sql, amount: Money, stage: Sql = STAGE_OF_MOVED): Sql {
  return entryCtes(
    name,
    kind,
    sql`SELECT ${eventId} AS event_id, m.id AS order_id, m.game_id, m.channel, ${amount.currency}::text AS currency,
      ${amount.value}::bigint AS amount, ${stage} AS stage FROM moved m`,
  );
}

/** REFUNDED by us (delivery deadline, operator): the payment reversed from where it sat. */
export const journalRefunded = (refunded: Money): Sql =>
  reversal('refunded', 'REFUND', sql`${ledgerEventId.refunded('')}::text || m.id`, refunded);

/** REFUNDED as a late payment: money received for a closed order, and returned, as two entries. */
export const journalLatePaymentRefunded = (paid: Money): Sql =>
  sql`${entryCtes('late_received', 'LATE_PAYMENT_RECEIVED', orderEvent(ledgerEventId.lateReceived, paid))},
  ${reversal('late_refunded', 'REFUND', sql`${ledgerEventId.refunded('')}::text || m.id`, paid, sql`'SUSPENSE'`)}`;

/**
 * For the channel-refund and chargeback flow (statuses REFUNDED reason CHANNEL_REFUND, CHARGED_BACK):
 * the channel took `amount` back on its own. Taken from deferred revenue or suspense while the goods
 * were not delivered, else booked as a refund or chargeback of the game's revenue. `key` is the
 * channel's id of the event (its refund id or dispute id), so each is booked once.
 */
export const journalChannelReversal = (kind: 'CHANNEL_REFUND' | 'CHARGEBACK', key: string, amount: Money): Sql =>
  channelReversal(kind, key, amount);

function channelReversal(kind: 'CHANNEL_REFUND' | 'CHARGEBACK', key: string, amount: Money): Sql {
  const prefix = kind === 'CHARGEBACK' ? 'chargeback' : 'channel-refund';
  return reversal(
    kind === 'CHARGEBACK' ? 'chargeback' : 'channel_refund',
    kind,
    sql`${prefix}::text || ':' || m.channel || ':' || ${key}::text`,
    amount,
  );
}

const CLEARING_PREFIX = `${'channel_clearing' satisfies AccountKind}:%`;

/**
 * What the order's payments brought in, net of what went back: its channel clearing (undefined when
 * nothing was booked for it). `lock` takes the order's row first, so a booking that follows in the
 * same transaction sees every transition before it and none starts meanwhile.
 */
export async function orderHoldings(run: RunSql, orderId: string, { lock = false } = {}): Promise<Money | undefined> {
  if (lock) await run(sql`SELECT 1 FROM orders WHERE id = ${orderId}::uuid FOR UPDATE`);
  const [row] = await run<{ currency: string; held: string }>(sql`
    SELECT p.currency, sum(p.amount)::text AS held
    FROM journal_entries je JOIN journal_postings p ON p.entry_id = je.id
    WHERE je.order_id = ${orderId}::uuid AND p.account LIKE ${CLEARING_PREFIX}
    GROUP BY p.currency ORDER BY sum(p.amount) DESC LIMIT 1`);
  return row ? { currency: row.currency, value: Number(row.held) } : undefined;
}

/**
 * A channel's refund of part of an order (domain/orders/reversals.ts): booked from where the money
 * sits, the order's status left as it is. The order's row is touched (its change counter moves) so a
 * transition that began before this commits runs again on the new books (see transitionOrder).
 * Returns whether it was booked now (false: before).
 */
export async function recordPartialRefund(run: RunSql, r: { orderId: string; key: string; amount: Money }): Promise<boolean> {
  const rows = await run<{ id: string }>(sql`
    WITH moved AS (
      UPDATE orders SET event_sequence = event_sequence + 1, updated_at = ${NOW_UTC}
      WHERE id = ${r.orderId}::uuid RETURNING id, game_id, channel
    ), ${channelReversal('CHANNEL_REFUND', r.key, r.amount)}
    SELECT id FROM journal_channel_refund_entry`);
  return rows.length > 0;
}

/** Whether the channel's refund `key` of the order is in the books already (a copy of its report). */
export async function channelReversalBooked(run: RunSql, orderId: string, key: string): Promise<boolean> {
  const rows = await run(sql`
    SELECT 1 FROM journal_entries je JOIN orders o ON o.id = je.order_id
    WHERE je.order_id = ${orderId}::uuid AND je.event_id = 'channel-refund:' || o.channel || ':' || ${key}::text`);
  return rows.length > 0;
}

// ---- Entries reconciliation books (statement fees, unplaced money) ------------------------------

/** One entry per row of a `source` of (event_id, channel, currency, amount): no order, no game. */
function channelEntry(
  name: string,
  kind: 'CHANNEL_FEE' | 'RECON_ADJUSTMENT',
  source: Sql,
  opts: { reference: Sql; memo: string; reversed?: boolean },
): Sql {
  return entryCtes(
    name,
    kind,
    sql`SELECT event_id, NULL::uuid AS order_id, NULL::text AS game_id, channel, currency, amount FROM (${source}) x`,
    opts,
  );
}

/**
 * The fees a statement day states, per currency, net of fees returned with refunds (`fees` rows of
 * currency and amount). What an earlier run of the same day booked is subtracted: a rerun books the
 * change only, as a new entry (a negative change gives fees back).
 */
export function journalStatementFees(
  p: { runId: string; channel: string; statementDate: string; fees: Sql },
): Sql {
  const booked = sql`SELECT je.currency, sum(CASE WHEN jp.account LIKE 'channel_fees:%' THEN jp.amount ELSE 0 END) AS amount
    FROM journal_entries je JOIN journal_postings jp ON jp.entry_id = je.id
    WHERE je.kind = 'CHANNEL_FEE' AND je.channel = ${p.channel}::text AND je.reference = ${p.statementDate}::text
    GROUP BY je.currency`;
  const change = sql`SELECT f.currency, f.amount - coalesce(b.amount, 0) AS change
    FROM (${p.fees}) f FULL JOIN (${booked}) b USING (currency)`;
  // Fees kept (positive change) debit fees; fees given back (negative) are the same leg reversed.
  const up = sql`SELECT ${ledgerEventId.fees(p.runId, '')}::text || c.currency AS event_id, ${p.channel}::text AS channel,
      c.currency, c.change AS amount FROM (${change}) c WHERE c.change > 0`;
  const down = sql`SELECT ${ledgerEventId.fees(p.runId, '')}::text || c.currency || ':returned' AS event_id, ${p.channel}::text AS channel,
      c.currency, -c.change AS amount FROM (${change}) c WHERE c.change < 0`;
  const reference = sql`${p.statementDate}`;
  const memo = `statement fees of ${p.statementDate}`;
  return sql`${channelEntry('fees', 'CHANNEL_FEE', up, { reference, memo })},
    ${channelEntry('fees_returned', 'CHANNEL_FEE', down, { reference, memo: `${memo}, corrected`, reversed: true })}`;
}

/** Money a statement shows that no order explains (`source`: channel_trade_no, currency, amount): into suspense, once per trade. */
export function journalUnplacedMoney(p: { channel: string; source: Sql }): Sql {
  return channelEntry(
    'unplaced',
    'RECON_ADJUSTMENT',
    sql`SELECT ${ledgerEventId.unplacedMoney(p.channel, '')}::text || u.channel_trade_no AS event_id, ${p.channel}::text AS channel,
      u.currency, u.amount FROM (${p.source}) u`,
    { reference: sql`NULL`, memo: 'money in the channel statement without an order' },
  );
}

// ---- Reads -------------------------------------------------------------------------------------------

export interface TrialBalanceRow {
  account: string;
  currency: string;
  debits: string;
  credits: string;
  balance: string;
}

/** Every account's debits, credits and balance per currency, from the entries effective up to `at`. */
export function trialBalance(run: RunSql, f: { currency?: string; at?: string }): Promise<TrialBalanceRow[]> {
  return run<TrialBalanceRow>(sql`
    SELECT p.account, p.currency,
      coalesce(sum(p.amount) FILTER (WHERE p.amount > 0), 0)::text AS debits,
      coalesce(-sum(p.amount) FILTER (WHERE p.amount < 0), 0)::text AS credits,
      sum(p.amount)::text AS balance
    FROM journal_postings p JOIN journal_entries e ON e.id = p.entry_id
    WHERE (${f.currency ?? null}::text IS NULL OR p.currency = ${f.currency ?? null}::text)
      AND (${f.at ?? null}::timestamptz IS NULL OR e.effective_at <= (${f.at ?? null}::timestamptz AT TIME ZONE 'UTC'))
    GROUP BY p.account, p.currency
    ORDER BY p.currency, p.account`);
}

export interface AccountEntryRow {
  id: string;
  event_id: string;
  kind: string;
  order_id: string | null;
  reference: string | null;
  memo: string | null;
  effective_at: string;
  recorded_at: string;
  currency: string;
  amount: string;
  postings: Posting[];
}

/** The entries that touch `account`, oldest first, from `afterId` on (a page). */
export function accountEntries(
  run: RunSql,
  f: { account: string; from?: string; to?: string; afterId?: string; limit: number },
): Promise<AccountEntryRow[]> {
  return run<AccountEntryRow>(sql`
    SELECT e.id::text, e.event_id, e.kind, e.order_id::text, e.reference, e.memo,
      ${isoOf(sql`e.effective_at`)} AS effective_at, ${isoOf(sql`e.recorded_at`)} AS recorded_at,
      p.currency, p.amount::text AS amount,
      (SELECT json_agg(json_build_object('account', a.account, 'currency', a.currency, 'amount', a.amount) ORDER BY a.leg)
         FROM journal_postings a WHERE a.entry_id = e.id) AS postings
    FROM journal_postings p JOIN journal_entries e ON e.id = p.entry_id
    WHERE p.account = ${f.account}::text
      AND (${f.afterId ?? null}::bigint IS NULL OR p.entry_id > ${f.afterId ?? null}::bigint)
      AND (${f.from ?? null}::timestamptz IS NULL OR e.effective_at >= (${f.from ?? null}::timestamptz AT TIME ZONE 'UTC'))
      AND (${f.to ?? null}::timestamptz IS NULL OR e.effective_at < (${f.to ?? null}::timestamptz AT TIME ZONE 'UTC'))
    ORDER BY p.entry_id
    LIMIT ${f.limit}::int`);
}

/** The entries of one order, oldest first (tests, operations). */
export function orderEntries(run: RunSql, orderId: string) {
  return run<{ event_id: string; kind: string; currency: string; amount: string; postings: Posting[] }>(sql`
    SELECT e.event_id, e.kind, e.currency, e.amount::text AS amount,
      (SELECT json_agg(json_build_object('account', a.account, 'currency', a.currency, 'amount', a.amount) ORDER BY a.leg)
         FROM journal_postings a WHERE a.entry_id = e.id) AS postings
    FROM journal_entries e WHERE e.order_id = ${orderId}::uuid ORDER BY e.id`);
}

// ---- The ledger's invariants ----------------------------------------------------------------------

export interface LedgerViolation {
  rule: string;
  subject: string;
}

/**
 * What must always hold, checked from the books (tests, fault drills, benchmarks):
 * - every entry balances per currency, and the journal as a whole does;
 * - every DELIVERED order has its revenue entry, every refunded order its reversal;
 * - no paid order sits in deferred revenue past its delivery deadline (`deliveryDeadlineMs`, plus
 *   `graceMs` for the refund in flight).
 * `gameId` narrows the order checks to one game (a drill's).
 */
export async function ledgerViolations(
  run: RunSql,
  opts: { deliveryDeadlineMs: number; graceMs?: number; gameId?: string; limit?: number },
): Promise<LedgerViolation[]> {
  const limit = opts.limit ?? 20;
  const game = opts.gameId ?? null;
  const overdue = opts.deliveryDeadlineMs + (opts.graceMs ?? 60_000);
  return run<LedgerViolation>(sql`
    (SELECT 'entry balances per currency' AS rule, 'entry ' || e.event_id AS subject
       FROM journal_entries e LEFT JOIN journal_postings p ON p.entry_id = e.id
      GROUP BY e.id, e.event_id
     HAVING count(p.*) < 2 OR sum(p.amount) <> 0 LIMIT ${limit})
    UNION ALL
    (SELECT 'the journal balances per currency', p.currency || ' is off by ' || sum(p.amount)
       FROM journal_postings p GROUP BY p.currency HAVING sum(p.amount) <> 0)
    UNION ALL
    (SELECT 'every delivered order has its revenue entry', 'order ' || o.id
       FROM orders o WHERE o.status = 'DELIVERED' AND (${game}::text IS NULL OR o.game_id = ${game}::text)
        AND NOT EXISTS (SELECT 1 FROM journal_entries e WHERE e.order_id = o.id AND e.kind = 'GOODS_DELIVERED') LIMIT ${limit})
    UNION ALL
    (SELECT 'every refund has its reversal', 'order ' || o.id
       FROM orders o WHERE o.status = 'REFUNDED' AND o.paid_amount > 0 AND (${game}::text IS NULL OR o.game_id = ${game}::text)
        AND NOT EXISTS (SELECT 1 FROM journal_entries e WHERE e.order_id = o.id AND e.kind IN ('REFUND', 'CHANNEL_REFUND', 'CHARGEBACK'))
      LIMIT ${limit})
    UNION ALL
    (SELECT 'nothing paid stays in deferred revenue past the delivery deadline',
            'order ' || o.id || ' owes ' || -sum(p.amount) || ' ' || p.currency || ' since ' || ${isoOf(sql`o.paid_at`)}
       FROM orders o JOIN journal_entries e ON e.order_id = o.id JOIN journal_postings p ON p.entry_id = e.id
      WHERE p.account = 'deferred_revenue:' || o.game_id AND (${game}::text IS NULL OR o.game_id = ${game}::text)
        AND o.paid_at < ${NOW_UTC} - make_interval(secs => ${overdue / 1000}::double precision)
      GROUP BY o.id, o.paid_at, p.currency HAVING sum(p.amount) <> 0 LIMIT ${limit})`);
}
