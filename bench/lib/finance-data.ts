import type { Pool } from 'pg';

/**
 * Synthetic books for the finance benchmarks and tests: a day of paid and delivered orders with their
 * provider payments (the sandbox's books, which its statement is built from), ledger entries as the
 * order statements write them, the game's grant log, and a known set of planted differences of every
 * kind. Written in bulk SQL (generate_series), not through purchases: what is measured is
 * reconciliation, not the purchase path.
 */

export interface DayOfOrders {
  gameId: string;
  sku: string;
  channel: string;
  /** The statement day, a calendar day in `timeZone`. */
  date: string;
  timeZone: string;
  orders: number;
  /** A tag that keeps this data set's ids apart from any other's. */
  seed: string;
  /** Write the ledger entries of every order too (captured and delivered), as the order statements would. */
  ledger?: boolean;
}

/** Deterministic ids: `<seed>-<n>` hashed into a UUID, and readable payment and trade ids. */
const orderId = (seed: string, n: string) => `md5(${seed} || '-' || ${n})::uuid`;

/**
 * `orders` DELIVERED orders of `channel`, paid evenly over the day (600 + 100 × (n mod 50) CNY cents),
 * with their deliveries and PAID provider payments. Returns nothing; every id derives from the seed.
 */
export async function writeDayOfOrders(db: Pool, d: DayOfOrders): Promise<void> {
  const seed = `'${d.seed}'`;
  // $1 date, $2 zone, $3 count; then each statement's own.
  const day = [d.date, d.timeZone, d.orders];
  const series = `SELECT n, ${orderId(seed, 'n::text')} AS id,
      ((($1::date)::timestamp AT TIME ZONE $2) AT TIME ZONE 'UTC') + make_interval(secs => 30 + (n - 1) * (86340.0 / $3::int)) AS paid_at,
      600 + 100 * (n % 50) AS amount
    FROM generate_series(1, $3::int) n`;
  await db.query(
    `INSERT INTO orders (id, game_id, user_id, sku, quantity, grants, region, currency, amount, channel, status, idempotency_key,
       request_hash, channel_payment_id, channel_txn_id, paid_amount, paid_currency, expires_at, paid_at, delivered_at, created_at, updated_at)
     SELECT s.id, $4, 'player-' || (s.n % 5000), $5, 1, '[]'::jsonb, 'CN', 'CNY', s.amount, $6, 'DELIVERED', ${seed} || '-' || s.n,
       'bench', 'sbx_' || ${seed} || '_' || s.n, 'sbxtxn_' || ${seed} || '_' || s.n, s.amount, 'CNY',
       s.paid_at + interval '15 minutes', s.paid_at, s.paid_at + interval '1 second', s.paid_at - interval '10 seconds', s.paid_at
     FROM (${series}) s`,
    [...day, d.gameId, d.sku, d.channel],
  );
  await db.query(
    `INSERT INTO deliveries (id, order_id, status, attempts, delivered_at, updated_at)
     SELECT 'dlv_' || s.id, s.id, 'DELIVERED', 1, s.paid_at + interval '1 second', s.paid_at FROM (${series}) s`,
    day,
  );
  await db.query(
    `INSERT INTO sandbox_payments (id, merchant_order_id, amount, currency, subject, notify_url, status, txn_id, paid_amount, paid_at, created_at, updated_at)
     SELECT 'sbx_' || ${seed} || '_' || s.n, s.id::text, s.amount, 'CNY', 'Gems', $4, 'PAID', 'sbxtxn_' || ${seed} || '_' || s.n, s.amount,
       s.paid_at, s.paid_at - interval '10 seconds', s.paid_at
     FROM (${series}) s`,
    [...day, `http://127.0.0.1:9/v1/callbacks/${d.channel}`],
  );
  if (d.ledger) await writeLedger(db, d);
}

/** The captured and delivered entries of the day's orders (event ids as the order statements use them). */
async function writeLedger(db: Pool, d: DayOfOrders): Promise<void> {
  for (const [kind, prefix, debit, credit, at] of [
    ['PAYMENT_CAPTURED', 'captured:', `'channel_clearing:' || e.channel`, `'deferred_revenue:' || e.game_id`, 'o.paid_at'],
    ['GOODS_DELIVERED', 'delivered:', `'deferred_revenue:' || e.game_id`, `'revenue:' || e.game_id`, 'o.delivered_at'],
  ] as const) {
    // The postings read what the entries returned: no join back to the orders.
    await db.query(
      `WITH e AS (
         INSERT INTO journal_entries (event_id, kind, order_id, game_id, channel, currency, amount, reference, effective_at)
         SELECT '${prefix}' || o.id, '${kind}', o.id, o.game_id, o.channel, o.paid_currency, o.paid_amount, o.channel_txn_id, ${at}
         FROM orders o WHERE o.channel = $1 AND o.game_id = $2 AND o.status = 'DELIVERED'
         RETURNING id, game_id, channel, currency, amount)
       INSERT INTO journal_postings (entry_id, leg, account, currency, amount)
       SELECT e.id, 1, ${debit}, e.currency, e.amount FROM e
       UNION ALL SELECT e.id, 2, ${credit}, e.currency, -e.amount FROM e`,
      [d.channel, d.gameId],
    );
  }
}

/** The game's grant log of the day: every delivery but those of `missing` orders (1-based numbers). */
export async function writeGrantLog(db: Pool, d: DayOfOrders, missing: number[]): Promise<void> {
  await db.query(`INSERT INTO grant_log_days (game_id, log_date) VALUES ($1, $2::date) ON CONFLICT DO NOTHING`, [d.gameId, d.date]);
  await db.query(
    `INSERT INTO grant_logs (delivery_id, game_id, order_id, granted_at, log_date)
     SELECT 'dlv_' || o.id, o.game_id, o.id, o.delivered_at, $3::date
     FROM generate_series(1, $4::int) n JOIN orders o ON o.id = ${orderId(`'${d.seed}'`, 'n::text')}
     WHERE n <> ALL($5::int[]) AND o.game_id = $1 AND o.channel = $2`,
    [d.gameId, d.channel, d.date, d.orders, missing],
  );
}

/** Order `n` of a data set, as its ids are derived. */
export async function orderOf(db: Pool, seed: string, n: number): Promise<{ id: string; paymentId: string; tradeNo: string }> {
  const { rows } = await db.query<{ id: string }>(`SELECT ${orderId('$1', '$2')} AS id`, [seed, String(n)]);
  return { id: rows[0]!.id, paymentId: `sbx_${seed}_${n}`, tradeNo: `sbxtxn_${seed}_${n}` };
}

/** `count` orders of the day that were never paid (CLOSED), with an open provider payment when `withPayments`. */
export async function writeClosedOrders(db: Pool, d: Omit<DayOfOrders, 'ledger'> & { withPayments: boolean }): Promise<void> {
  const seed = `'${d.seed}'`;
  const day = [d.date, d.timeZone, d.orders];
  const series = `SELECT n, ${orderId(seed, 'n::text')} AS id,
      ((($1::date)::timestamp AT TIME ZONE $2) AT TIME ZONE 'UTC') + make_interval(secs => 60 + n) AS created_at
    FROM generate_series(1, $3::int) n`;
  await db.query(
    `INSERT INTO orders (id, game_id, user_id, sku, quantity, grants, region, currency, amount, channel, status, status_reason,
       idempotency_key, request_hash, channel_payment_id, expires_at, closed_at, created_at, updated_at)
     SELECT s.id, $4, 'player-' || s.n, $5, 1, '[]'::jsonb, 'CN', 'CNY', 600, $6, 'CLOSED', 'PAYMENT_TIMEOUT', ${seed} || '-' || s.n, 'bench',
       ${d.withPayments ? `'sbx_' || ${seed} || '_' || s.n` : 'NULL'}, s.created_at + interval '15 minutes',
       s.created_at + interval '15 minutes', s.created_at, s.created_at + interval '15 minutes'
     FROM (${series}) s`,
    [...day, d.gameId, d.sku, d.channel],
  );
  if (!d.withPayments) return;
  await db.query(
    `INSERT INTO sandbox_payments (id, merchant_order_id, amount, currency, subject, notify_url, status, created_at, updated_at)
     SELECT 'sbx_' || ${seed} || '_' || s.n, s.id::text, 600, 'CNY', 'Gems', $4, 'CLOSED', s.created_at, s.created_at FROM (${series}) s`,
    [...day, `http://127.0.0.1:9/v1/callbacks/${d.channel}`],
  );
}

/** Grants the game logged on `date` for orders `1..count` of a data set (e.g. orders it was never paid for). */
export async function writeGrantsFor(db: Pool, d: { gameId: string; date: string; seed: string; count: number }): Promise<void> {
  await db.query(`INSERT INTO grant_log_days (game_id, log_date) VALUES ($1, $2::date) ON CONFLICT DO NOTHING`, [d.gameId, d.date]);
  await db.query(
    `INSERT INTO grant_logs (delivery_id, game_id, order_id, granted_at, log_date)
     SELECT 'dlv_' || ${orderId(`'${d.seed}'`, 'n::text')}, $1, ${orderId(`'${d.seed}'`, 'n::text')}, now() AT TIME ZONE 'UTC', $2::date
     FROM generate_series(1, $3::int) n`,
    [d.gameId, d.date, d.count],
  );
}
