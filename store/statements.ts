import type { StatementRow } from '../channels/types';
import type { Database, RunSql } from '../infra/db';
import { copyField, copyIn } from './copy';
import { sql } from './sql';

/**
 * Channel statements as reconciliation runs stage them: every line in `statement_lines`, numbered in
 * the statement's order, written by COPY in chunks that commit with the run's progress. A run that
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
 * Copies up to `STAGE_CHUNK_LINES` lines from `rows` (numbered from `firstLineNo`) in one
 * transaction that also records the run's progress. Returns how many lines it took (0: the statement
 * has ended).
 */
export async function stageChunk(
  database: Database,
  runId: string,
  firstLineNo: number,
  rows: AsyncIterator<StatementRow>,
): Promise<number> {
  return database.withConnection(async (client, run) => {
    await run(sql`BEGIN`);
    try {
      let lineNo = firstLineNo;
      const copied = await copyIn(client, TARGET, chunkOf(rows, STAGE_CHUNK_LINES, (row) => copyRow(runId, lineNo++, row)));
      await run(sql`UPDATE recon_runs SET rows_read = ${firstLineNo - 1 + copied}::int WHERE id = ${runId}::uuid`);
      await run(sql`COMMIT`);
      return copied;
    } catch (err) {
      await run(sql`ROLLBACK`).catch(() => undefined);
      throw err;
    }
  });
}

async function* chunkOf<T>(rows: AsyncIterator<T>, max: number, format: (row: T) => string): AsyncGenerator<string> {
  for (let taken = 0; taken < max; taken++) {
    const next = await rows.next();
    if (next.done) return;
    yield format(next.value);
  }
}

function copyRow(runId: string, lineNo: number, r: StatementRow): string {
  const fields = [
    runId,
    lineNo,
    r.kind,
    r.channelTradeNo,
    r.merchantOrderId,
    r.refundId,
    r.amount.currency,
    r.amount.value,
    r.fee?.value,
    // A timestamp column takes the UTC wall time and ignores the Z.
    r.occurredAt,
  ];
  return `${fields.map(copyField).join('\t')}\n`;
}

/** The staged statement of superseded runs is not needed again (their differences and summaries stay). */
export async function dropSupersededLines(run: RunSql, channel: string, statementDate: string): Promise<void> {
  await run(sql`
    DELETE FROM statement_lines l USING recon_runs r
    WHERE l.run_id = r.id AND r.channel = ${channel}::text AND r.statement_date = ${statementDate}::date
      AND r.superseded_by IS NOT NULL`);
}

