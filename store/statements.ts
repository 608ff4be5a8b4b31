import type { StatementRow } from '../channels/types';
import type { Database, RunSql } from '../infra/db';
import { acceptsCopyIn, copyField, copyIn } from './copy';
import { raw, sql, type Sql } from './sql';

/**
 * Channel statements as reconciliation runs stage them: every line in `statement_lines`, numbered in
 * the statement's order, written by COPY (batched INSERTs where the database has no COPY FROM STDIN)
 * in chunks that commit with the run's progress. A run that
 * stops (a worker killed) resumes after the last committed line.
 */

export const STAGE_CHUNK_LINES = 100_000;

const TARGET =
  'statement_lines (run_id, line_no, kind, channel_trade_no, merchant_order_id, refund_id, currency, amount, fee, occurred_at)';

/** How far staging got: the committed lines and the trade number of the last one. */
export async function stagedSoFar(run: RunSql, runId: string): Promise<{ lines: number; lastTradeNo?: string }> {
  const [row] = await run<{ line_no: number; channel_trade_no: string }>(sql`
    SELECT line_no, channel_trade_no FROM statement_lines WHERE run_id = ${runId}::uuid ORDER BY line_no DESC LIMIT 1`);
  return row ? { lines: row.line_no, lastTradeNo: row.channel_trade_no } : { lines: 0 };
}

/** Starts staging again from the first line (the statement changed under a resumed run). */
export async function discardStaged(database: Database, runId: string): Promise<void> {
  await database.transaction(async (run) => {
    await run(sql`DELETE FROM statement_lines WHERE run_id = ${runId}::uuid`);
    await run(sql`UPDATE recon_runs SET rows_read = 0 WHERE id = ${runId}::uuid`);
  });
}

/**
 * Stages the next chunk of lines from `rows` (numbered from `firstLineNo`) in one transaction that
 * also records the run's progress. Returns how many lines it took (0: the statement has ended). COPY
 * of up to `STAGE_CHUNK_LINES` where the database takes it; an INSERT of up to `INSERT_BATCH_LINES`
 * where it does not (the embedded dev database): the same lines either way.
 */
export async function stageChunk(
  database: Database,
  runId: string,
  firstLineNo: number,
  rows: AsyncIterator<StatementRow>,
): Promise<number> {
  return (await acceptsCopyIn(database)) ? copyChunk(database, runId, firstLineNo, rows) : insertChunk(database, runId, firstLineNo, rows);
}

const recordProgress = (runId: string, linesRead: number) =>
  sql`UPDATE recon_runs SET rows_read = ${linesRead}::int WHERE id = ${runId}::uuid`;

export async function copyChunk(database: Database, runId: string, firstLineNo: number, rows: AsyncIterator<StatementRow>): Promise<number> {
  return database.withConnection(async (client, run) => {
    await run(sql`BEGIN`);
    try {
      let lineNo = firstLineNo;
      const copied = await copyIn(client, TARGET, chunkOf(rows, STAGE_CHUNK_LINES, (row) => copyRow(lineFields(runId, lineNo++, row))));
      await run(recordProgress(runId, firstLineNo - 1 + copied));
      await run(sql`COMMIT`);
      return copied;
    } catch (err) {
      await run(sql`ROLLBACK`).catch(() => undefined);
      throw err;
    }
  });
}

/** Lines per chunk where COPY is not available: one INSERT of ten arrays, in its own transaction. */
export const INSERT_BATCH_LINES = 2_000;

/**
 * The chunk is read before its transaction opens: on the embedded database one connection's open
 * transaction holds back every other connection, and the statement may be served from that same
 * database (the sandbox provider's), so reading it inside the transaction would wait forever.
 */
export async function insertChunk(database: Database, runId: string, firstLineNo: number, rows: AsyncIterator<StatementRow>): Promise<number> {
  const batch: LineFields[] = [];
  for await (const row of chunkOf(rows, INSERT_BATCH_LINES, (r) => r)) batch.push(lineFields(runId, firstLineNo + batch.length, row));
  if (batch.length === 0) return 0;
  return database.transaction(async (run) => {
    await run(insertLines(batch));
    await run(recordProgress(runId, firstLineNo - 1 + batch.length));
    return batch.length;
  });
}

async function* chunkOf<T, R>(rows: AsyncIterator<T>, max: number, format: (row: T) => R): AsyncGenerator<R> {
  for (let taken = 0; taken < max; taken++) {
    const next = await rows.next();
    if (next.done) return;
    yield format(next.value);
  }
}

/** A line's values in the order of `TARGET`'s columns. */
type LineFields = [string, number, string, string, string | null, string | null, string, number, number | null, string];

function lineFields(runId: string, lineNo: number, r: StatementRow): LineFields {
  return [
    runId,
    lineNo,
    r.kind,
    r.channelTradeNo,
    r.merchantOrderId ?? null,
    r.refundId ?? null,
    r.amount.currency,
    r.amount.value,
    r.fee?.value ?? null,
    // A timestamp column takes the UTC wall time and ignores the Z (by COPY and by the ::timestamp cast alike).
    r.occurredAt,
  ];
}

function copyRow(fields: LineFields): string {
  return `${fields.map(copyField).join('\t')}\n`;
}

/** One INSERT of a batch of lines: a column of values per array, as COPY would have written them. */
function insertLines(batch: LineFields[]): Sql {
  const column = <T>(i: number) => batch.map((f) => f[i] as T);
  return sql`
    INSERT INTO ${raw(TARGET)}
    SELECT * FROM unnest(${column(0)}::uuid[], ${column(1)}::int[], ${column(2)}::text[], ${column(3)}::text[], ${column(4)}::uuid[],
      ${column(5)}::text[], ${column(6)}::text[], ${column(7)}::bigint[], ${column(8)}::bigint[], ${column(9)}::timestamp[])`;
}

/** The staged statement of superseded runs is not needed again (their differences and summaries stay). */
export async function dropSupersededLines(run: RunSql, channel: string, statementDate: string): Promise<void> {
  await run(sql`
    DELETE FROM statement_lines l USING recon_runs r
    WHERE l.run_id = r.id AND r.channel = ${channel}::text AND r.statement_date = ${statementDate}::date
      AND r.superseded_by IS NOT NULL`);
}

