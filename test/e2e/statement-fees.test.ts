import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { parseBusinessDetails } from '../../channels/alipay/statement';
import type { StatementRow } from '../../channels/types';
import { parseTradeBill } from '../../channels/wechatpay/statement';
import { REPAIRS, classify, recheckHeld } from '../../domain/reconciliation/differences';
import { putChannelAccount } from '../../store/channel-accounts';
import { createRuns, matchRun } from '../../store/reconciliation';
import { sql } from '../../store/sql';
import { stageChunk } from '../../store/statements';
import { Harness, type TestGame } from '../support/harness';

/**
 * Statement fees are judged at the channel account's own fee terms (its routing fields, as they were
 * at the line's time), by the one fee rule routing uses: WeChat Pay's and Alipay's real statement
 * formats, read by their parsers, staged and matched against an order of ours.
 */
let h: Harness;
let game: TestGame;
let sku: string;
beforeAll(async () => {
  ({ h, game, sku } = await Harness.startWithGame());
});
afterAll(() => h?.close());

const FIXTURES = path.join(__dirname, '..', 'channels', 'fixtures');
/** The order both fixtures list first: 6.00 CNY, a fee of 0.04 (0.60%, rounded half up). */
const LISTED_ORDER = '3f0e9a4c1b2d4e6f8a7b9c0d1e2f3a4b';

const STATEMENTS = {
  wechatpay: {
    date: '2026-01-15',
    paidAt: '2026-01-15T00:05:00+08:00',
    rows: (text: string) => parseTradeBill(text),
    text: () => readFileSync(path.join(FIXTURES, 'wechatpay', 'tradebill-all-2026-01-15.csv'), 'utf8'),
  },
  alipay: {
    date: '2026-03-14',
    paidAt: '2026-03-14T10:00:05+08:00',
    rows: (text: string) => parseBusinessDetails(Readable.from(text.split('\n'))),
    text: () => readFileSync(path.join(FIXTURES, 'alipay', '20260314_业务明细.csv'), 'utf8'),
  },
} as const;

/** Reconciles the fixture day of `type` for a new account at `feeRateBps`; answers the differences of the listed order. */
async function differencesOfListedOrder(type: keyof typeof STATEMENTS, feeRateBps: number, laterFeeRateBps?: number): Promise<string[]> {
  const statement = STATEMENTS[type];
  const account = `${type}-fees-${randomUUID().slice(0, 8)}`;
  await putChannelAccount(h.database, { id: account, type, enabled: false, routing: { feeRateBps } }, 'statement-fees test');
  // Terms changed after the statement's day (the audit records the change now) do not apply to it.
  if (laterFeeRateBps !== undefined) {
    await putChannelAccount(h.database, { id: account, type, enabled: false, routing: { feeRateBps: laterFeeRateBps } }, 'statement-fees test');
  }
  const orderId = randomUUID();
  await h.database.sql(sql`
    INSERT INTO orders (id, game_id, user_id, sku, quantity, grants, region, currency, amount, channel, status, idempotency_key,
      request_hash, channel_payment_id, channel_txn_id, paid_amount, paid_currency, expires_at, paid_at, created_at, updated_at)
    VALUES (${orderId}::uuid, ${game.gameId}, 'fee-player', ${sku}, 1, '[]'::jsonb, 'CN', 'CNY', 600, ${account}, 'PAID', ${`fee-${orderId}`},
      'fee', ${`pay-${orderId}`}, ${`txn-${orderId}`}, 600, 'CNY', (${statement.paidAt}::timestamptz AT TIME ZONE 'UTC'),
      (${statement.paidAt}::timestamptz AT TIME ZONE 'UTC'), (${statement.paidAt}::timestamptz AT TIME ZONE 'UTC'), now() AT TIME ZONE 'UTC')`);

  const runId = randomUUID();
  await createRuns(h.sql, [{ id: runId, channel: account, date: statement.date, timeZone: 'Asia/Shanghai', trigger: 'API' }]);
  const rows: AsyncIterator<StatementRow> = statement.rows(statement.text().replaceAll(LISTED_ORDER, orderId.replace(/-/g, '')));
  await stageChunk(h.database, runId, 1, rows); // a few lines: one chunk
  await matchRun(h.database, {
    runId,
    channel: account,
    date: statement.date,
    timeZone: 'Asia/Shanghai',
    reportsOrphanGrants: false,
    classify,
    recheckHeld,
    unplaced: REPAIRS.BOOK_UNPLACED,
  });
  const found = await h.sql<{ kind: string; side: string }>(sql`
    SELECT kind, side FROM recon_differences WHERE run_id = ${runId}::uuid AND order_id = ${orderId}::uuid AND side = 'PAYMENT'`);
  return found.map((d) => d.kind);
}

describe.each(['wechatpay', 'alipay'] as const)('a %s statement', (type) => {
  it("finds a fee off the account's own terms (55 bps: 0.03 expected, 0.04 charged): FEE_MISMATCH", async () => {
    expect(await differencesOfListedOrder(type, 55)).toEqual(['FEE_MISMATCH']);
  });

  it("finds nothing where the fee is on the account's terms (60 bps: 0.04)", async () => {
    expect(await differencesOfListedOrder(type, 60)).toEqual([]);
  });

  it('judges the fee at the terms in force on its day, not at terms changed since', async () => {
    expect(await differencesOfListedOrder(type, 60, 55)).toEqual([]);
    expect(await differencesOfListedOrder(type, 55, 60)).toEqual(['FEE_MISMATCH']);
  });
});
