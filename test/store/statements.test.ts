import { randomUUID } from 'node:crypto';
import type { StatementRow } from '../../channels/types';
import { loadConfig } from '../../infra/config';
import { openDatabase, type Database } from '../../infra/db';
import { createRuns } from '../../store/reconciliation';
import { sql } from '../../store/sql';
import { INSERT_BATCH_LINES, copyChunk, insertChunk } from '../../store/statements';

let database: Database;
beforeAll(() => {
  database = openDatabase(loadConfig({ ...process.env, NODE_ENV: 'test' }).DATABASE_URL, 2);
});
afterAll(() => database?.close());

/** More than one INSERT batch, with every optional field absent somewhere and COPY's special characters in text. */
function statement(): StatementRow[] {
  return Array.from({ length: INSERT_BATCH_LINES + 7 }, (_, i) => ({
    channelTradeNo: i % 5 === 0 ? `t\\${i}\ttab\nline` : `t${i}`,
    ...(i % 3 !== 0 && { merchantOrderId: randomUUID() }),
    kind: i % 4 === 0 ? 'REFUND' : 'PAYMENT',
    amount: { currency: 'CNY', value: 600 + i },
    ...(i % 2 === 0 && { fee: { currency: 'CNY', value: 4 } }),
    occurredAt: new Date(Date.UTC(2020, 2, 10, 2, 0, 0, i)).toISOString(),
    ...(i % 4 === 0 && { refundId: `rf_${i}` }),
  }));
}

async function stagedBy(stage: typeof copyChunk, rows: StatementRow[]) {
  const runId = randomUUID();
  await createRuns(database.sql, [{ id: runId, channel: 'sandbox', date: '2020-03-10', timeZone: 'Asia/Shanghai', trigger: 'API' }]);
  async function* lines() {
    yield* rows;
  }
  const rowsLeft = lines();
  let taken = 0;
  for (;;) {
    const chunk = await stage(database, runId, taken + 1, rowsLeft);
    if (chunk === 0) break;
    taken += chunk;
  }
  const staged = await database.sql(sql`
    SELECT line_no, kind, channel_trade_no, merchant_order_id::text, refund_id, currency, amount::text, fee::text, occurred_at::text
    FROM statement_lines WHERE run_id = ${runId}::uuid ORDER BY line_no`);
  const [run] = await database.sql<{ rows_read: number }>(sql`SELECT rows_read FROM recon_runs WHERE id = ${runId}::uuid`);
  return { taken, rowsRead: run!.rows_read, staged };
}

it('stages a statement by batched INSERTs exactly as by COPY (the embedded database has no COPY FROM STDIN)', async () => {
  const rows = statement();
  const byCopy = await stagedBy(copyChunk, rows);
  const byInsert = await stagedBy(insertChunk, rows);
  expect(byCopy).toMatchObject({ taken: rows.length, rowsRead: rows.length });
  expect(byInsert).toEqual(byCopy);
});
