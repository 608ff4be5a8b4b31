import type { RunSql } from '../infra/db';
import { NOW_UTC, isoOf, sql, utc } from './sql';

/**
 * Store sweeps: one row per run over one window of one store account (pages read, items seen, known,
 * recovered, failed), and one row per notification a sweep recovered (its first copy came from it).
 */

export interface SweepCounts {
  pages: number;
  seen: number;
  known: number;
  recovered: number;
  failed: number;
}

export async function openStoreSweep(run: RunSql, s: { id: string; channel: string; pass: string; start: string; end: string }) {
  await run(sql`
    INSERT INTO store_sweeps (id, channel, pass, window_start, window_end, status, started_at)
    VALUES (${s.id}::uuid, ${s.channel}::text, ${s.pass}::text, ${utc(s.start)}, ${utc(s.end)}, 'RUNNING', ${NOW_UTC})
    ON CONFLICT (id) DO NOTHING`);
}

/** The end of the last COMPLETED window of this pass, where the next run starts from. */
export async function lastGoodSweepEnd(run: RunSql, channel: string, pass: string): Promise<string | undefined> {
  const [row] = await run<{ end: string | null }>(sql`
    SELECT ${isoOf(sql`max(window_end)`)} AS "end" FROM store_sweeps
    WHERE channel = ${channel}::text AND pass = ${pass}::text AND status = 'COMPLETED'`);
  return row?.end ?? undefined;
}

/** Adds one page's counts (a page is counted once: the caller resumes after the last one it added). */
export async function addSweepPage(run: RunSql, id: string, c: Omit<SweepCounts, 'pages'>) {
  await run(sql`
    UPDATE store_sweeps SET pages = pages + 1, items_seen = items_seen + ${c.seen}::int, items_known = items_known + ${c.known}::int,
      items_recovered = items_recovered + ${c.recovered}::int, items_failed = items_failed + ${c.failed}::int
    WHERE id = ${id}::uuid`);
}

/** A window restarted from its first page (Apple's token expired): what its pages counted goes. */
export async function resetSweepCounts(run: RunSql, id: string) {
  await run(sql`
    UPDATE store_sweeps SET pages = 0, items_seen = 0, items_known = 0, items_recovered = 0, items_failed = 0 WHERE id = ${id}::uuid`);
}

export async function closeStoreSweep(run: RunSql, id: string, outcome: { status: 'COMPLETED' | 'FAILED'; error?: string }) {
  await run(sql`
    UPDATE store_sweeps SET status = ${outcome.status}::text, error = ${outcome.error ?? null}::text, finished_at = ${NOW_UTC}
    WHERE id = ${id}::uuid AND status = 'RUNNING'`);
}

export interface Recovery {
  sweepId: string;
  channel: string;
  dedupeKey: string;
  kind: string;
  orderId: string | null;
  firstTriedAt?: string;
  /** What a person should know of it (the adapter's notice). */
  notice?: string;
}

/** Once per notification, ever (a second sweep finds it known). */
export async function recordRecovery(run: RunSql, r: Recovery) {
  await run(sql`
    INSERT INTO store_sweep_recoveries (sweep_id, channel, dedupe_key, kind, order_id, first_tried_at, recovered_at, notice)
    VALUES (${r.sweepId}::uuid, ${r.channel}::text, ${r.dedupeKey}::text, ${r.kind}::text, ${r.orderId}::uuid,
      ${r.firstTriedAt ? utc(r.firstTriedAt) : null}, ${NOW_UTC}, ${r.notice ?? null}::text)
    ON CONFLICT (channel, dedupe_key) DO NOTHING`);
}

export interface StoreSweepRow {
  id: string;
  channel: string;
  pass: string;
  windowStart: string;
  windowEnd: string;
  status: string;
  pages: number;
  seen: number;
  known: number;
  recovered: number;
  failed: number;
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
  recoveries: { orderId: string | null; kind: string; dedupeKey: string; firstTriedAt: string | null; recoveredAt: string; notice: string | null }[];
}

/** Runs that started in [from, to), newest first, each with what it recovered. */
export async function listStoreSweeps(run: RunSql, f: { channel?: string; from: string; to: string; limit: number }): Promise<StoreSweepRow[]> {
  return run<StoreSweepRow>(sql`
    SELECT s.id::text, s.channel, s.pass, ${isoOf(sql`s.window_start`)} AS "windowStart", ${isoOf(sql`s.window_end`)} AS "windowEnd",
      s.status, s.pages, s.items_seen AS seen, s.items_known AS known, s.items_recovered AS recovered, s.items_failed AS failed, s.error,
      ${isoOf(sql`s.started_at`)} AS "startedAt", ${isoOf(sql`s.finished_at`)} AS "finishedAt",
      coalesce((SELECT json_agg(json_build_object('orderId', r.order_id, 'kind', r.kind, 'dedupeKey', r.dedupe_key,
          'firstTriedAt', ${isoOf(sql`r.first_tried_at`)}, 'recoveredAt', ${isoOf(sql`r.recovered_at`)}, 'notice', r.notice) ORDER BY r.id)
        FROM store_sweep_recoveries r WHERE r.sweep_id = s.id), '[]'::json) AS recoveries
    FROM store_sweeps s
    WHERE (${f.channel ?? null}::text IS NULL OR s.channel = ${f.channel ?? null}::text)
      AND s.started_at >= ${utc(f.from)} AND s.started_at < ${utc(f.to)}
    ORDER BY s.started_at DESC, s.id
    LIMIT ${f.limit}::int`);
}
