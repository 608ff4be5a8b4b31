import type { DifferenceKind, Fact, Finding, Resolution, Side } from '../domain/reconciliation/differences';
import type { Database, RunSql } from '../infra/db';
import { feeOf } from './fees';
import { journalStatementFees, journalUnplacedMoney } from './journal';
import { NOW_UTC, isoOf, join, raw, sql, type Sql } from './sql';
import { dropSupersededLines } from './statements';

/**
 * Reconciliation runs and what they find. Matching is set-based SQL in one transaction: the staged
 * statement is paired with our payments and refunds (each line and each payment at most once), and
 * only what did not pair cleanly comes out, as facts, grouped by the signature the domain's rules
 * classify (domain/reconciliation): a few dozen decisions, whatever the size of the day.
 */

export type RunStatus = 'RUNNING' | 'COMPLETED' | 'FAILED';
export type RunTrigger = 'SCHEDULE' | 'API' | 'CLI';

export interface NewRun {
  id: string;
  channel: string;
  date: string;
  timeZone: string;
  trigger: RunTrigger;
  requestedBy?: string;
  workflowId?: string;
}

export interface RunRow {
  id: string;
  channel: string;
  date: string;
  timeZone: string;
  status: RunStatus;
  trigger: RunTrigger;
  requestedBy: string | null;
  workflowId: string | null;
  rowsRead: number;
  rowsMatched: number;
  summary: RunSummary | null;
  error: string | null;
  supersededBy: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface RunSummary {
  statementRows: number;
  platformRows: number;
  matched: number;
  differences: Partial<Record<DifferenceKind, number>>;
  resolutions: Partial<Record<Resolution, number>>;
}

const RUN_COLUMNS = sql`id::text, channel, statement_date::text AS date, time_zone AS "timeZone", status, trigger,
  requested_by AS "requestedBy", workflow_id AS "workflowId", rows_read AS "rowsRead", rows_matched AS "rowsMatched",
  summary, error, superseded_by::text AS "supersededBy", ${isoOf(sql`created_at`)} AS "createdAt",
  ${isoOf(sql`started_at`)} AS "startedAt", ${isoOf(sql`finished_at`)} AS "finishedAt"`;

export async function createRuns(run: RunSql, runs: NewRun[]): Promise<RunRow[]> {
  if (runs.length === 0) return [];
  return run<RunRow>(sql`
    INSERT INTO recon_runs (id, channel, statement_date, time_zone, status, trigger, requested_by, workflow_id, created_at)
    VALUES ${join(
      runs.map(
        (r) => sql`(${r.id}::uuid, ${r.channel}::text, ${r.date}::date, ${r.timeZone}::text, 'RUNNING', ${r.trigger}::text,
          ${r.requestedBy ?? null}::text, ${r.workflowId ?? null}::text, clock_timestamp() AT TIME ZONE 'UTC')`,
      ),
    )}
    ON CONFLICT (id) DO NOTHING
    RETURNING ${RUN_COLUMNS}`);
}

export async function findRun(run: RunSql, id: string): Promise<RunRow | undefined> {
  const [row] = await run<RunRow>(sql`SELECT ${RUN_COLUMNS} FROM recon_runs WHERE id = ${id}::uuid`);
  return row;
}

export function listRuns(run: RunSql, f: { channel?: string; date?: string; from?: string; to?: string; limit: number }): Promise<RunRow[]> {
  return run<RunRow>(sql`
    SELECT ${RUN_COLUMNS} FROM recon_runs
    WHERE (${f.channel ?? null}::text IS NULL OR channel = ${f.channel ?? null}::text)
      AND (${f.date ?? null}::date IS NULL OR statement_date = ${f.date ?? null}::date)
      AND (${f.from ?? null}::date IS NULL OR statement_date >= ${f.from ?? null}::date)
      AND (${f.to ?? null}::date IS NULL OR statement_date <= ${f.to ?? null}::date)
    ORDER BY created_at DESC, id LIMIT ${f.limit}::int`);
}

export async function markStarted(run: RunSql, id: string, workflowId: string): Promise<void> {
  await run(sql`UPDATE recon_runs SET started_at = coalesce(started_at, ${NOW_UTC}), workflow_id = coalesce(workflow_id, ${workflowId}::text)
    WHERE id = ${id}::uuid`);
}

export async function markFailed(run: RunSql, id: string, error: string): Promise<void> {
  await run(sql`UPDATE recon_runs SET status = 'FAILED', error = ${error.slice(0, 2000)}::text, finished_at = ${NOW_UTC}
    WHERE id = ${id}::uuid AND status = 'RUNNING'`);
}

/**
 * The run is done: COMPLETED, and the day's result is its own. It supersedes the runs of the same day
 * requested before it (they stay, as history); a run requested after it, already done, supersedes it.
 */
export async function markCompleted(database: Database, id: string): Promise<void> {
  await database.transaction(async (run) => {
    const [done] = await run<{ channel: string; date: string }>(sql`
      UPDATE recon_runs SET status = 'COMPLETED', finished_at = coalesce(finished_at, ${NOW_UTC})
      WHERE id = ${id}::uuid AND status IN ('RUNNING', 'COMPLETED')
      RETURNING channel, statement_date::text AS date`);
    if (!done) return;
    await run(sql`
      UPDATE recon_runs r SET superseded_by = ${id}::uuid
      FROM recon_runs me WHERE me.id = ${id}::uuid AND r.channel = me.channel AND r.statement_date = me.statement_date
        AND r.id <> me.id AND r.created_at < me.created_at AND r.status <> 'RUNNING' AND r.superseded_by IS NULL`);
    await run(sql`
      UPDATE recon_runs me SET superseded_by = (
        SELECT r.id FROM recon_runs r WHERE r.channel = me.channel AND r.statement_date = me.statement_date
          AND r.created_at > me.created_at AND r.status = 'COMPLETED' ORDER BY r.created_at DESC LIMIT 1)
      WHERE me.id = ${id}::uuid`);
    await dropSupersededLines(run, done.channel, done.date);
  });
}

// ---- Matching -------------------------------------------------------------------------------------

/** What a match needs to know besides the staged statement. */
export interface MatchScope {
  runId: string;
  channel: string;
  date: string;
  timeZone: string;
  /** Grants naming no order of ours are reported once a day: by the run of the account RECON_ORPHAN_GRANTS_ACCOUNT names. */
  reportsOrphanGrants: boolean;
  /** The domain's rules. */
  classify(fact: Fact): Finding[];
  /** What a held difference becomes once the next day's statement was read, listed there or not. */
  recheckHeld(listedNextDay: boolean): Finding;
  /** The findings whose money a run books into suspense (no order explains it: the domain's BOOK_UNPLACED). */
  unplaced: { kind: DifferenceKind; reason: string; side: Side };
}

/** The facts' columns that decide a classification: rows with the same values classify alike. */
const SIGNATURE = [
  'fact',
  'side',
  'has_order',
  'same_channel',
  'paid',
  'refunded',
  'matched_by_another',
  'currency_differs',
  'amount_differs',
  'fee_differs',
  'listed_on',
  'next_staged',
  'same_game',
  'delivered',
] as const;
type SignatureRow = { sig: string } & Record<(typeof SIGNATURE)[number], string | boolean | null>;
const signatureOf = (alias: string) => raw(`concat_ws('|', ${SIGNATURE.map((c) => `coalesce(${alias}.${c}::text, '-')`).join(', ')})`);

/**
 * Matches the run's staged statement against our books and records what differs, the day's fees and
 * the money no order explains in the ledger, and the held differences of the neighbouring days it
 * settles, all in one transaction. A repeat after it committed changes nothing.
 */
export async function matchRun(database: Database, s: MatchScope): Promise<RunSummary> {
  return database.transaction(async (run) => {
    // Runs of neighbouring days touch each other's held differences: taken in date order, one at a time.
    await run(sql`SELECT pg_advisory_xact_lock(hashtext('recon:' || ${s.channel}::text || ':' || d::text))
      FROM generate_series(${s.date}::date - 1, ${s.date}::date, interval '1 day') d ORDER BY d`);
    const [already] = await run<{ summary: RunSummary | null }>(sql`SELECT summary FROM recon_runs WHERE id = ${s.runId}::uuid`);
    if (already?.summary) return already.summary;

    await run(sql`SET LOCAL work_mem = '256MB'`);
    // Freshly copied lines have no statistics yet: the planner would take the day for a handful of rows.
    await run(sql`ANALYZE statement_lines`);
    const [bounds] = await run<{ prev_lo: string; lo: string; hi: string; next_hi: string; prev_run: string | null; next_run: string | null }>(sql`
      SELECT ${dayStart(s, -1)}::text AS prev_lo, ${dayStart(s, 0)}::text AS lo, ${dayStart(s, 1)}::text AS hi,
        ${dayStart(s, 2)}::text AS next_hi,
        (${latestRunOf(s, -1)})::text AS prev_run, (${latestRunOf(s, 1)})::text AS next_run`);
    const b = bounds!;
    const t = (v: string) => sql`${v}::timestamp`;
    const dayOffset = (at: Sql) => sql`CASE WHEN ${at} < ${t(b.lo)} THEN -1 WHEN ${at} >= ${t(b.hi)} THEN 1 ELSE 0 END`;
    const R = sql`${s.runId}::uuid`;
    const lines = sql`statement_lines l`;
    await collectFeeTerms(run, s.channel);
    // Line `l`'s fee at the account's terms of its time; NULL (not checked) where the account had none.
    const expectedFee = sql`(SELECT ${feeOf(sql`l.amount`, sql`l.currency`, TERM_COLUMNS)} FROM recon_fee_terms t
      WHERE l.occurred_at >= t.valid_from AND l.occurred_at < t.valid_to ORDER BY t.valid_from DESC LIMIT 1)`;
    const feeDiffers = sql`coalesce(l.fee <> ${expectedFee}, false)`;

    // Our side: payments and refunds of the day and its two neighbours (lines may sit a day off).
    await run(sql`CREATE TEMP TABLE recon_ours ON COMMIT DROP AS
      SELECT o.id, o.game_id, o.status, o.channel_txn_id, o.paid_amount::bigint AS amount, o.paid_currency AS currency,
        o.delivered_at, ${dayOffset(sql`o.paid_at`)} AS day_offset
      FROM orders o
      WHERE o.paid_at >= ${t(b.prev_lo)} AND o.paid_at < ${t(b.next_hi)} AND o.channel = ${s.channel}::text AND o.paid_amount IS NOT NULL`);
    await run(sql`CREATE TEMP TABLE recon_our_refunds ON COMMIT DROP AS
      SELECT r.id AS refund_id, r.order_id, o.channel_txn_id, r.amount::bigint AS amount, r.currency, ${dayOffset(sql`r.updated_at`)} AS day_offset
      FROM refunds r JOIN orders o ON o.id = r.order_id
      WHERE r.channel = ${s.channel}::text AND r.status = 'SUCCEEDED' AND r.updated_at >= ${t(b.prev_lo)} AND r.updated_at < ${t(b.next_hi)}`);

    // Pairs: by our order id where the line names one, else by the channel's trade number; refunds by
    // our refund id, else likewise. Narrow rows: what differs is read again for the few pairs that do.
    const differs = (ours: string) => sql`(l.currency <> ${raw(ours)}.currency OR l.amount <> ${raw(ours)}.amount OR ${feeDiffers})`;
    await run(sql`CREATE TEMP TABLE recon_pay_pairs ON COMMIT DROP AS
      SELECT l.line_no, o.id AS order_id, o.day_offset, ${differs('o')} AS differs
      FROM ${lines} JOIN recon_ours o ON o.id = l.merchant_order_id
      WHERE l.run_id = ${R} AND l.kind = 'PAYMENT'
      UNION ALL
      SELECT l.line_no, o.id, o.day_offset, ${differs('o')}
      FROM ${lines} JOIN recon_ours o ON o.channel_txn_id = l.channel_trade_no
      WHERE l.run_id = ${R} AND l.kind = 'PAYMENT' AND l.merchant_order_id IS NULL`);
    // Refund lines are few: read out of the day once, then paired three ways.
    await run(sql`CREATE TEMP TABLE recon_refund_lines ON COMMIT DROP AS
      SELECT * FROM statement_lines WHERE run_id = ${R} AND kind = 'REFUND'`);
    await run(sql`CREATE TEMP TABLE recon_refund_pairs ON COMMIT DROP AS
      SELECT l.line_no, r.refund_id, r.order_id, r.day_offset, ${differs('r')} AS differs
      FROM recon_refund_lines l JOIN recon_our_refunds r ON r.refund_id = l.refund_id
      UNION ALL
      SELECT l.line_no, r.refund_id, r.order_id, r.day_offset, ${differs('r')}
      FROM recon_refund_lines l JOIN recon_our_refunds r ON r.order_id = l.merchant_order_id WHERE l.refund_id IS NULL
      UNION ALL
      SELECT l.line_no, r.refund_id, r.order_id, r.day_offset, ${differs('r')}
      FROM recon_refund_lines l JOIN recon_our_refunds r ON r.channel_txn_id = l.channel_trade_no
      WHERE l.refund_id IS NULL AND l.merchant_order_id IS NULL`);
    // Each payment (refund) pairs with one line: the first; the others stay unmatched (listed twice).
    await run(sql`DELETE FROM recon_pay_pairs p USING (
        SELECT order_id, min(line_no) AS keep FROM recon_pay_pairs GROUP BY order_id HAVING count(*) > 1) d
      WHERE p.order_id = d.order_id AND p.line_no <> d.keep`);
    await run(sql`DELETE FROM recon_refund_pairs p USING (
        SELECT refund_id, min(line_no) AS keep FROM recon_refund_pairs GROUP BY refund_id HAVING count(*) > 1) d
      WHERE p.refund_id = d.refund_id AND p.line_no <> d.keep`);
    // Temporary tables have no statistics until analyzed: without them the anti-joins below run as nested loops.
    await run(sql`ANALYZE recon_ours, recon_our_refunds, recon_refund_lines, recon_pay_pairs, recon_refund_pairs`);

    await collectFacts(run, s, { R, b, expectedFee, feeDiffers });
    const signatures = await run<SignatureRow>(sql`
      SELECT DISTINCT ${signatureOf('f')} AS sig, ${raw(SIGNATURE.map((c) => `f.${c}`).join(', '))} FROM recon_facts f`);
    const decisions = signatures.flatMap((row) => s.classify(factOf(row)).map((finding) => ({ sig: row.sig, finding })));
    if (decisions.length > 0) {
      await run(sql`
        INSERT INTO recon_differences (run_id, kind, reason, resolution, side, channel_trade_no, order_id, refund_id, currency,
          ours, theirs, detail, created_at, updated_at)
        SELECT ${R}, m.kind, m.reason, m.resolution, f.side, f.channel_trade_no, f.order_id, f.refund_id, f.currency,
          CASE WHEN m.kind = 'FEE_MISMATCH' THEN f.expected_fee ELSE f.ours END,
          CASE WHEN m.kind = 'FEE_MISMATCH' THEN f.their_fee ELSE f.theirs END, f.detail, ${NOW_UTC}, ${NOW_UTC}
        FROM recon_facts f JOIN (VALUES ${join(
          decisions.map((d) => sql`(${d.sig}::text, ${d.finding.kind}::text, ${d.finding.reason}::text, ${d.finding.resolution}::text)`),
        )}) AS m(sig, kind, reason, resolution) ON m.sig = ${signatureOf('f')}
        ORDER BY f.side, f.order_id, f.channel_trade_no`);
    }

    // The channel holds money no order explains: the books say so (suspense), finance decides.
    const unplaced = sql`SELECT channel_trade_no, currency, theirs AS amount FROM recon_differences
      WHERE run_id = ${R} AND kind = ${s.unplaced.kind}::text AND reason = ${s.unplaced.reason}::text AND side = ${s.unplaced.side}::text
        AND channel_trade_no IS NOT NULL AND theirs > 0`;
    await run(sql`WITH ${journalUnplacedMoney({ channel: s.channel, source: unplaced })} SELECT 1`);
    await run(sql`UPDATE recon_differences SET repair = 'booked into suspense (ledger)'
      WHERE run_id = ${R} AND kind = ${s.unplaced.kind}::text AND reason = ${s.unplaced.reason}::text AND side = ${s.unplaced.side}::text AND theirs > 0`);

    // The day's fees, as the statement states them (net of fees returned with refunds).
    const fees = sql`SELECT currency, sum(CASE WHEN kind = 'PAYMENT' THEN fee ELSE -fee END) AS amount
      FROM statement_lines WHERE run_id = ${R} AND fee IS NOT NULL GROUP BY currency`;
    await run(sql`WITH ${journalStatementFees({ runId: s.runId, channel: s.channel, statementDate: s.date, fees })} SELECT 1`);

    await settleNeighbours(run, s, b.prev_run, b.next_run);

    const [counts] = await run<{ statement_rows: number; platform_rows: number; matched: number }>(sql`
      SELECT (SELECT rows_read FROM recon_runs WHERE id = ${R}) AS statement_rows,
        ((SELECT count(*) FROM recon_ours WHERE day_offset = 0) + (SELECT count(*) FROM recon_our_refunds WHERE day_offset = 0))::int AS platform_rows,
        ((SELECT count(*) FROM recon_pay_pairs) + (SELECT count(*) FROM recon_refund_pairs))::int AS matched`);
    const summary: RunSummary = {
      statementRows: counts!.statement_rows,
      platformRows: counts!.platform_rows,
      matched: counts!.matched,
      ...(await differenceCounts(run, s.runId)),
    };
    await run(sql`UPDATE recon_runs SET summary = ${JSON.stringify(summary)}::jsonb, rows_matched = ${summary.matched}::int
      WHERE id = ${R}`);
    return summary;
  });
}

const TERM_COLUMNS = { rateBps: sql`t.rate_bps`, fixedCurrency: sql`t.fixed_currency`, fixedValue: sql`t.fixed_value` };

/**
 * The account's fee terms over time (recon_fee_terms), from its configuration audit: each change
 * writes the account's routing fields as they became, so the terms in force at an instant are those
 * of the last change before it (the first known ones before the first change: a backdated day). An
 * account without routing fields has no known fee: its lines are not checked (routing ranks it at 0).
 */
async function collectFeeTerms(run: RunSql, channel: string): Promise<void> {
  await run(sql`CREATE TEMP TABLE recon_fee_terms ON COMMIT DROP AS
    SELECT * FROM (
      SELECT CASE WHEN row_number() OVER w = 1 THEN '-infinity'::timestamp ELSE a.at END AS valid_from,
        coalesce(lead(a.at) OVER w, 'infinity'::timestamp) AS valid_to,
        coalesce((a.after->'routing'->>'feeRateBps')::int, 0) AS rate_bps,
        a.after->'routing'->'fixedFee'->>'currency' AS fixed_currency,
        coalesce((a.after->'routing'->'fixedFee'->>'value')::bigint, 0) AS fixed_value,
        jsonb_typeof(a.after->'routing') = 'object' AS known
      FROM config_audit a WHERE a.entity = 'channel_account' AND a.entity_id = ${channel}::text
      WINDOW w AS (ORDER BY a.id)) terms
    WHERE known`);
}

const dayStart = (s: Pick<MatchScope, 'date' | 'timeZone'>, offset: number) =>
  sql`(((${s.date}::date + ${offset}::int)::timestamp AT TIME ZONE ${s.timeZone}::text) AT TIME ZONE 'UTC')`;

/** The run whose result stands for a neighbouring day (its statement is staged), if any. */
const latestRunOf = (s: MatchScope, offset: number) => sql`
  SELECT id FROM recon_runs WHERE channel = ${s.channel}::text AND statement_date = ${s.date}::date + ${offset}::int
    AND status = 'COMPLETED' AND superseded_by IS NULL ORDER BY created_at DESC LIMIT 1`;

interface FactContext {
  R: Sql;
  /** Whether line `l`'s fee differs from the account's terms. */
  feeDiffers: Sql;
  b: { lo: string; hi: string; prev_run: string | null; next_run: string | null };
  /** Line `l`'s fee at the account's terms (NULL: no terms known). */
  expectedFee: Sql;
}

/** Everything that did not pair cleanly, with the facts its classification needs (recon_facts). */
async function collectFacts(run: RunSql, s: MatchScope, { R, b, expectedFee, feeDiffers }: FactContext): Promise<void> {
  await run(sql`CREATE TEMP TABLE recon_facts (
      fact text NOT NULL, side text NOT NULL, channel_trade_no text, order_id uuid, refund_id text, currency text,
      ours bigint, theirs bigint, expected_fee bigint, their_fee bigint, detail text,
      has_order boolean, same_channel boolean, paid boolean, refunded boolean, matched_by_another boolean,
      currency_differs boolean, amount_differs boolean, fee_differs boolean, listed_on text, next_staged boolean,
      same_game boolean, delivered boolean) ON COMMIT DROP`);
  const describeOrder = sql`CASE WHEN o.id IS NULL THEN NULL ELSE 'order ' || o.status || ' on ' || o.channel ||
    coalesce(', paid ' || ${isoOf(sql`o.paid_at`)}, '') END`;

  // Lines no payment (refund) of ours paired with.
  await run(sql`INSERT INTO recon_facts (fact, side, channel_trade_no, order_id, currency, theirs, their_fee, detail,
      has_order, same_channel, paid, refunded, matched_by_another)
    SELECT 'LINE_UNMATCHED', 'PAYMENT', l.channel_trade_no, l.merchant_order_id, l.currency, l.amount, l.fee, ${describeOrder},
      o.id IS NOT NULL, o.channel = ${s.channel}::text, o.paid_at IS NOT NULL, o.status = 'REFUNDED',
      o.id IS NOT NULL AND o.id IN (SELECT order_id FROM recon_pay_pairs)
    FROM statement_lines l LEFT JOIN orders o ON o.id = l.merchant_order_id
    WHERE l.run_id = ${R} AND l.kind = 'PAYMENT' AND NOT EXISTS (SELECT 1 FROM recon_pay_pairs p WHERE p.line_no = l.line_no)`);
  await run(sql`INSERT INTO recon_facts (fact, side, channel_trade_no, order_id, refund_id, currency, theirs, their_fee, detail,
      has_order, same_channel, paid, refunded, matched_by_another)
    SELECT 'LINE_UNMATCHED', 'REFUND', l.channel_trade_no, l.merchant_order_id, l.refund_id, l.currency, l.amount, l.fee, ${describeOrder},
      o.id IS NOT NULL, o.channel = ${s.channel}::text, o.paid_at IS NOT NULL,
      o.status = 'REFUNDED' OR EXISTS (SELECT 1 FROM refunds r WHERE r.order_id = o.id AND r.status = 'SUCCEEDED'), false
    FROM recon_refund_lines l LEFT JOIN orders o ON o.id = l.merchant_order_id
    WHERE NOT EXISTS (SELECT 1 FROM recon_refund_pairs p WHERE p.line_no = l.line_no)`);

  // Pairs whose amount, currency or fee differ.
  for (const [side, pairs, ours, idColumn] of [
    ['PAYMENT', sql`recon_pay_pairs`, sql`recon_ours o ON o.id = p.order_id`, sql`NULL::text`],
    ['REFUND', sql`recon_refund_pairs`, sql`recon_our_refunds o ON o.refund_id = p.refund_id`, sql`p.refund_id`],
  ] as const) {
    await run(sql`INSERT INTO recon_facts (fact, side, channel_trade_no, order_id, refund_id, currency, ours, theirs, expected_fee, their_fee,
        currency_differs, amount_differs, fee_differs)
      SELECT 'PAIR_DIFFERS', ${side}::text, l.channel_trade_no, p.order_id, ${idColumn}, l.currency, o.amount, l.amount,
        ${expectedFee}, l.fee,
        l.currency <> o.currency, l.amount <> o.amount, ${feeDiffers}
      FROM ${pairs} p JOIN statement_lines l ON l.run_id = ${R} AND l.line_no = p.line_no JOIN ${ours}
      WHERE p.differs`);
  }

  // Our payments and refunds of the day the statement does not list: on a neighbouring day, or held.
  const listedIn = (runId: string | null, kind: 'PAYMENT' | 'REFUND', id: Sql, tradeNo: Sql) =>
    runId === null
      ? sql`false`
      : sql`(${id} IN (SELECT coalesce(${kind === 'PAYMENT' ? sql`merchant_order_id::text` : sql`refund_id`}, '')
                        FROM statement_lines WHERE run_id = ${runId}::uuid AND kind = ${kind}::text)
          OR ${tradeNo} IN (SELECT channel_trade_no FROM statement_lines WHERE run_id = ${runId}::uuid AND kind = ${kind}::text))`;
  const listedOn = (kind: 'PAYMENT' | 'REFUND', id: Sql, tradeNo: Sql) => sql`CASE
      WHEN ${listedIn(b.next_run, kind, id, tradeNo)} THEN 'NEXT_DAY'
      WHEN ${listedIn(b.prev_run, kind, id, tradeNo)} THEN 'PREVIOUS_DAY' END`;
  await run(sql`INSERT INTO recon_facts (fact, side, channel_trade_no, order_id, currency, ours, listed_on, next_staged)
    SELECT 'OURS_UNLISTED', 'PAYMENT', o.channel_txn_id, o.id, o.currency, o.amount,
      ${listedOn('PAYMENT', sql`o.id::text`, sql`o.channel_txn_id`)}, ${b.next_run !== null}::boolean
    FROM recon_ours o WHERE o.day_offset = 0 AND NOT EXISTS (SELECT 1 FROM recon_pay_pairs p WHERE p.order_id = o.id)`);
  await run(sql`INSERT INTO recon_facts (fact, side, channel_trade_no, order_id, refund_id, currency, ours, listed_on, next_staged)
    SELECT 'OURS_UNLISTED', 'REFUND', r.channel_txn_id, r.order_id, r.refund_id, r.currency, r.amount,
      ${listedOn('REFUND', sql`r.refund_id`, sql`r.channel_txn_id`)}, ${b.next_run !== null}::boolean
    FROM recon_our_refunds r WHERE r.day_offset = 0 AND NOT EXISTS (SELECT 1 FROM recon_refund_pairs p WHERE p.refund_id = r.refund_id)`);

  // Three-way: delivered orders paid this day, in a game that sent its grant log for the delivery's
  // day, without a grant (grants of a day's deliveries are logged that day or the next).
  await run(sql`INSERT INTO recon_facts (fact, side, channel_trade_no, order_id, currency, ours)
    SELECT 'DELIVERED_NOT_GRANTED', 'GRANT', o.channel_txn_id, o.id, o.currency, o.amount
    FROM recon_ours o
    WHERE o.day_offset = 0 AND o.status = 'DELIVERED'
      AND (o.game_id, ((o.delivered_at AT TIME ZONE 'UTC') AT TIME ZONE ${s.timeZone}::text)::date) IN (
        SELECT game_id, log_date FROM grant_log_days WHERE log_date BETWEEN ${s.date}::date AND ${s.date}::date + 2)
      -- Only the order's own game's grants count: another game's entry naming it explains nothing.
      AND NOT EXISTS (SELECT 1 FROM grant_logs gl WHERE gl.game_id = o.game_id AND gl.order_id = o.id
        AND gl.log_date BETWEEN ${s.date}::date - 1 AND ${s.date}::date + 2)`);
  // Grants of the day that no delivered order of ours (of the same game) explains; the few left are looked up one by one.
  await run(sql`INSERT INTO recon_facts (fact, side, order_id, currency, ours, detail, has_order, same_game, delivered)
    SELECT 'GRANT_UNMATCHED', 'GRANT', g.order_id, o.currency, o.paid_amount, 'delivery ' || g.delivery_id || ' granted by ' || g.game_id,
      o.id IS NOT NULL, o.game_id = g.game_id, o.status = 'DELIVERED' AND d.order_id IS NOT DISTINCT FROM o.id
    FROM (SELECT * FROM grant_logs gl WHERE gl.log_date = ${s.date}::date AND NOT EXISTS (
            SELECT 1 FROM recon_ours r WHERE r.id = gl.order_id AND r.game_id = gl.game_id AND r.status = 'DELIVERED')) g
    LEFT JOIN orders o ON o.id = g.order_id LEFT JOIN deliveries d ON d.id = g.delivery_id
    WHERE (o.channel = ${s.channel}::text OR (o.id IS NULL AND ${s.reportsOrphanGrants}::boolean))
      AND NOT (o.id IS NOT NULL AND o.game_id = g.game_id AND o.status = 'DELIVERED' AND d.order_id IS NOT DISTINCT FROM o.id)`);
}

/** A signature row as the domain's fact. */
function factOf(row: SignatureRow): Fact {
  const side = row.side as Side;
  const bool = (v: string | boolean | null) => v === true;
  switch (row.fact) {
    case 'LINE_UNMATCHED':
      return {
        type: 'LINE_UNMATCHED',
        side: side as 'PAYMENT' | 'REFUND',
        ...(bool(row.has_order) && {
          order: {
            sameChannel: bool(row.same_channel),
            paid: bool(row.paid),
            refunded: bool(row.refunded),
            matchedByAnotherLine: bool(row.matched_by_another),
          },
        }),
      };
    case 'PAIR_DIFFERS':
      return {
        type: 'PAIR_DIFFERS',
        side: side as 'PAYMENT' | 'REFUND',
        currencyDiffers: bool(row.currency_differs),
        amountDiffers: bool(row.amount_differs),
        feeDiffers: bool(row.fee_differs),
      };
    case 'OURS_UNLISTED':
      return {
        type: 'OURS_UNLISTED',
        side: side as 'PAYMENT' | 'REFUND',
        ...(row.listed_on !== null && { listedOn: row.listed_on as 'PREVIOUS_DAY' | 'NEXT_DAY' }),
        nextDayStaged: bool(row.next_staged),
      };
    case 'DELIVERED_NOT_GRANTED':
      return { type: 'DELIVERED_NOT_GRANTED' };
    default:
      return {
        type: 'GRANT_UNMATCHED',
        ...(bool(row.has_order) && { order: { sameGame: bool(row.same_game), delivered: bool(row.delivered) } }),
      };
  }
}

/**
 * Held differences of the neighbouring days' runs that this statement decides: the previous day's
 * are listed here (cross-day, settled) or missing in the channel; the next day's that are listed here
 * (a day processed out of order) are settled too.
 */
async function settleNeighbours(run: RunSql, s: MatchScope, prevRun: string | null, nextRun: string | null): Promise<void> {
  const R = sql`${s.runId}::uuid`;
  const listedHere = sql`(
    (d.side = 'PAYMENT' AND EXISTS (SELECT 1 FROM recon_pay_pairs p WHERE p.order_id = d.order_id))
    OR (d.side = 'REFUND' AND EXISTS (SELECT 1 FROM recon_refund_pairs p WHERE p.refund_id = d.refund_id)))`;
  const settle = (finding: Finding, where: Sql, runId: string) => sql`
    UPDATE recon_differences d SET kind = ${finding.kind}::text, reason = ${finding.reason}::text,
      resolution = ${finding.resolution}::text, rechecked_by = ${R},
      repair = ${`rechecked against the statement of ${s.date}`}::text, updated_at = ${NOW_UTC}
    WHERE d.run_id = ${runId}::uuid AND d.resolution = 'HELD_CROSS_DAY' AND ${where}`;
  if (prevRun) {
    await run(settle(s.recheckHeld(true), listedHere, prevRun));
    await run(settle(s.recheckHeld(false), sql`NOT ${listedHere}`, prevRun));
    await refreshSummary(run, prevRun);
  }
  if (nextRun) {
    const listedOnPrevious = s.classify({ type: 'OURS_UNLISTED', side: 'PAYMENT', listedOn: 'PREVIOUS_DAY', nextDayStaged: true })[0]!;
    await run(settle(listedOnPrevious, listedHere, nextRun));
    await refreshSummary(run, nextRun);
  }
}

async function differenceCounts(run: RunSql, runId: string): Promise<Pick<RunSummary, 'differences' | 'resolutions'>> {
  const rows = await run<{ kind: DifferenceKind; resolution: Resolution; n: number }>(sql`
    SELECT kind, resolution, count(*)::int AS n FROM recon_differences WHERE run_id = ${runId}::uuid GROUP BY kind, resolution`);
  const differences: RunSummary['differences'] = {};
  const resolutions: RunSummary['resolutions'] = {};
  for (const r of rows) {
    differences[r.kind] = (differences[r.kind] ?? 0) + r.n;
    resolutions[r.resolution] = (resolutions[r.resolution] ?? 0) + r.n;
  }
  return { differences, resolutions };
}

/** The run's summary with its differences counted again (after repairs, rechecks and resolutions). */
export async function refreshSummary(run: RunSql, runId: string): Promise<void> {
  const counts = await differenceCounts(run, runId);
  await run(sql`UPDATE recon_runs SET summary = summary || ${JSON.stringify(counts)}::jsonb
    WHERE id = ${runId}::uuid AND summary IS NOT NULL`);
}

// ---- Differences ----------------------------------------------------------------------------------

export interface DifferenceRow {
  id: string;
  runId: string;
  kind: DifferenceKind;
  reason: string;
  resolution: Resolution;
  side: Side;
  channelTradeNo: string | null;
  orderId: string | null;
  refundId: string | null;
  currency: string | null;
  ours: string | null;
  theirs: string | null;
  detail: string | null;
  repair: string | null;
  note: string | null;
  resolvedBy: string | null;
  resolvedAt: string | null;
  recheckedBy: string | null;
}

const DIFFERENCE_COLUMNS = sql`id::text, run_id::text AS "runId", kind, reason, resolution, side, channel_trade_no AS "channelTradeNo",
  order_id::text AS "orderId", refund_id AS "refundId", currency, ours::text, theirs::text, detail, repair, note,
  resolved_by AS "resolvedBy", ${isoOf(sql`resolved_at`)} AS "resolvedAt", rechecked_by::text AS "recheckedBy"`;

export function differencesOf(
  run: RunSql,
  f: { runId: string; afterId?: string; limit: number; kind?: string; resolution?: string },
): Promise<DifferenceRow[]> {
  return run<DifferenceRow>(sql`
    SELECT ${DIFFERENCE_COLUMNS} FROM recon_differences
    WHERE run_id = ${f.runId}::uuid AND (${f.afterId ?? null}::bigint IS NULL OR id > ${f.afterId ?? null}::bigint)
      AND (${f.kind ?? null}::text IS NULL OR kind = ${f.kind ?? null}::text)
      AND (${f.resolution ?? null}::text IS NULL OR resolution = ${f.resolution ?? null}::text)
    ORDER BY id LIMIT ${f.limit}::int`);
}

/**
 * Differences across runs: those of each day's standing run (a superseded run's are history), by
 * channel account, statement days, kind and resolution; oldest first, keyset paged by id.
 */
export function listDifferences(
  run: RunSql,
  f: { channel?: string; from?: string; to?: string; kind?: string; resolution?: string; afterId?: string; limit: number },
): Promise<(DifferenceRow & { channel: string; date: string })[]> {
  return run<DifferenceRow & { channel: string; date: string }>(sql`
    WITH runs AS (
      SELECT id AS run_id, channel AS run_channel, statement_date AS run_date FROM recon_runs
      WHERE superseded_by IS NULL
        AND (${f.channel ?? null}::text IS NULL OR channel = ${f.channel ?? null}::text)
        AND (${f.from ?? null}::date IS NULL OR statement_date >= ${f.from ?? null}::date)
        AND (${f.to ?? null}::date IS NULL OR statement_date <= ${f.to ?? null}::date)
    )
    SELECT ${DIFFERENCE_COLUMNS}, run_channel AS channel, run_date::text AS date
    FROM recon_differences JOIN runs USING (run_id)
    WHERE (${f.kind ?? null}::text IS NULL OR kind = ${f.kind ?? null}::text)
      AND (${f.resolution ?? null}::text IS NULL OR resolution = ${f.resolution ?? null}::text)
      AND (${f.afterId ?? null}::bigint IS NULL OR id > ${f.afterId ?? null}::bigint)
    ORDER BY id LIMIT ${f.limit}::int`);
}

export async function findDifference(run: RunSql, id: string): Promise<DifferenceRow | undefined> {
  const [row] = await run<DifferenceRow>(sql`SELECT ${DIFFERENCE_COLUMNS} FROM recon_differences WHERE id = ${id}::bigint`);
  return row;
}

/** A person settles a difference (only one still open or held); returns it, or undefined when it was not. */
export async function resolveDifference(
  database: Database,
  d: { id: string; note: string; resolvedBy: string; resolvable: readonly Resolution[] },
): Promise<DifferenceRow | undefined> {
  return database.transaction(async (run) => {
    const [row] = await run<DifferenceRow>(sql`
      UPDATE recon_differences SET resolution = 'RESOLVED', note = ${d.note}::text, resolved_by = ${d.resolvedBy}::text,
        resolved_at = ${NOW_UTC}, updated_at = ${NOW_UTC}
      WHERE id = ${d.id}::bigint AND resolution = ANY(${[...d.resolvable]}::text[])
      RETURNING ${DIFFERENCE_COLUMNS}`);
    if (row) await refreshSummary(run, row.runId);
    return row;
  });
}

/** Payments the run may repair by telling their order (see the activity), not yet repaired. */
export interface RepairCandidate {
  id: string;
  orderId: string;
  channelPaymentId: string | null;
  channelTradeNo: string;
  currency: string;
  amount: number;
  occurredAt: string;
}

export function repairCandidates(
  run: RunSql,
  f: { runId: string; kind: DifferenceKind; reason: string; afterId?: string; limit: number },
): Promise<RepairCandidate[]> {
  return run<RepairCandidate>(sql`
    SELECT DISTINCT ON (d.id) d.id::text, o.id::text AS "orderId", o.channel_payment_id AS "channelPaymentId", d.channel_trade_no AS "channelTradeNo",
      d.currency, d.theirs::int AS amount, ${isoOf(sql`l.occurred_at`)} AS "occurredAt"
    FROM recon_differences d JOIN orders o ON o.id = d.order_id
    JOIN statement_lines l ON l.run_id = d.run_id AND l.kind = 'PAYMENT' AND l.channel_trade_no = d.channel_trade_no
    WHERE d.run_id = ${f.runId}::uuid AND d.kind = ${f.kind}::text AND d.reason = ${f.reason}::text AND d.side = 'PAYMENT'
      AND d.resolution = 'OPEN' AND d.repair IS NULL AND (${f.afterId ?? null}::bigint IS NULL OR d.id > ${f.afterId ?? null}::bigint)
    ORDER BY d.id LIMIT ${f.limit}::int`);
}

export async function markRepaired(run: RunSql, id: string, repair: string): Promise<void> {
  await run(sql`UPDATE recon_differences SET resolution = 'AUTO_REPAIRED', repair = ${repair}::text, updated_at = ${NOW_UTC}
    WHERE id = ${id}::bigint AND resolution = 'OPEN'`);
}
