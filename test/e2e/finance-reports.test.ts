import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { writeDayOfOrders } from '../../bench/lib/finance-data';
import { startOfDay } from '../../domain/reconciliation/days';
import { rollUpDay } from '../../store/reports';
import { Harness } from '../support/harness';

/**
 * Finance reports from the daily and monthly aggregates: the figures equal what the orders say, by
 * day and by month, whole months and months cut by the range alike, and a day rolled up again
 * refreshes its month.
 */
let h: Harness;
let pool: Pool;
const channel = `reports-${randomUUID().slice(0, 8)}`;
/** Orders paid and delivered per day, each day by its own game (the bench writer books a game's ledger at once). */
const DAYS: Record<string, number> = { '2026-01-30': 30, '2026-01-31': 20, '2026-02-01': 10, '2026-02-28': 5, '2026-03-01': 7 };

beforeAll(async () => {
  h = await Harness.start();
  pool = new Pool({ connectionString: h.config.DATABASE_URL, max: 2 });
  for (const [date, orders] of Object.entries(DAYS)) await writeDay(date, orders);
  // Days of one month rolled up together: each rewrites the month's rows, one at a time.
  await Promise.all(Object.keys(DAYS).map((date) => rollUp(date)));
}, 120_000);
afterAll(async () => {
  await pool?.end();
  await h?.close();
});

async function writeDay(date: string, orders: number) {
  const game = await h.createGame();
  const sku = await h.createItem(game);
  await writeDayOfOrders(pool, { gameId: game.gameId, sku, channel, date, timeZone: h.config.RECON_TIME_ZONE, orders, seed: randomUUID(), ledger: true });
}

const rollUp = (date: string) => rollUpDay(h.database, { channel, date, timeZone: h.config.RECON_TIME_ZONE });

/** What the orders themselves say, per day or month of the reconciliation time zone. */
async function fromOrders(format: 'YYYY-MM-DD' | 'YYYY-MM', from: string, to: string) {
  const { rows } = await pool.query<{ period: string; paid: string; amount: string }>(
    `SELECT to_char(paid_at AT TIME ZONE 'UTC' AT TIME ZONE $2, $3) AS period, count(*) AS paid, sum(paid_amount) AS amount
     FROM orders WHERE channel = $1 AND (paid_at AT TIME ZONE 'UTC' AT TIME ZONE $2)::date BETWEEN $4::date AND $5::date
     GROUP BY 1 ORDER BY 1`,
    [channel, h.config.RECON_TIME_ZONE, format, from, to],
  );
  return rows.map((r) => ({ period: r.period, ordersPaid: Number(r.paid), paid: Number(r.amount), delivered: Number(r.paid), revenue: Number(r.amount) }));
}

async function revenue(query: string) {
  const res = await h.admin('GET', `/v1/finance/reports/revenue?${query}&by=channel`);
  expect(res.status).toBe(200);
  return (res.body.rows as { channel: string; period: string }[])
    .filter((r) => r.channel === channel)
    .map(({ period, ordersPaid, paid, delivered, revenue, currency }: Record<string, unknown>) => ({ period, ordersPaid, paid, delivered, revenue, currency }));
}

const inCny = <T>(rows: T[]) => rows.map((r) => ({ ...r, currency: 'CNY' }));

describe('finance reports', () => {
  it('answers by month what the orders say, for whole months', async () => {
    const byMonth = await revenue('from=2026-01-01&to=2026-03-31&groupBy=month');
    expect(byMonth.map((r) => [r.period, r.ordersPaid])).toEqual([['2026-01', 50], ['2026-02', 15], ['2026-03', 7]]);
    expect(byMonth).toEqual(inCny(await fromOrders('YYYY-MM', '2026-01-01', '2026-03-31')));
  });

  it('counts only the days inside the range of months its ends cut', async () => {
    const cut = await revenue('from=2026-01-31&to=2026-03-01&groupBy=month');
    expect(cut.map((r) => [r.period, r.ordersPaid])).toEqual([['2026-01', 20], ['2026-02', 15], ['2026-03', 7]]);
    expect(cut).toEqual(inCny(await fromOrders('YYYY-MM', '2026-01-31', '2026-03-01')));
    // Inside one month.
    const inside = await revenue('from=2026-02-02&to=2026-02-28&groupBy=month');
    expect(inside.map((r) => [r.period, r.ordersPaid])).toEqual([['2026-02', 5]]);
  });

  it('answers by day what the orders say', async () => {
    const byDay = await revenue('from=2026-01-30&to=2026-03-01&groupBy=day');
    expect(byDay.map((r) => [r.period, r.ordersPaid])).toEqual(Object.entries(DAYS));
    expect(byDay).toEqual(inCny(await fromOrders('YYYY-MM-DD', '2026-01-30', '2026-03-01')));
  });

  it('takes ISO datetimes for its range as the ledger does: each stands for its day, `to` excluded', async () => {
    const at = (date: string) => startOfDay(date, h.config.RECON_TIME_ZONE).toISOString();
    const byDatetimes = await revenue(`from=${at('2026-01-30')}&to=${at('2026-03-02')}&groupBy=day`);
    expect(byDatetimes).toEqual(await revenue('from=2026-01-30&to=2026-03-01&groupBy=day'));
    const res = await h.admin('GET', `/v1/finance/reports/channels?from=${at('2026-01-01')}&to=${at('2026-04-01')}`);
    expect(res.body).toMatchObject({ from: '2026-01-01', to: '2026-03-31' });
    const reversed = await h.admin('GET', '/v1/finance/reports/channels?from=2026-03-31&to=2026-01-01');
    expect(reversed.body.error.code).toBe('VALIDATION_ERROR');
  });

  it('refreshes the month when a day is rolled up again', async () => {
    await writeDay('2026-02-28', 4);
    expect((await revenue('from=2026-02-01&to=2026-02-28&groupBy=month')).map((r) => r.ordersPaid)).toEqual([15]);
    await rollUp('2026-02-28');
    const feb = await revenue('from=2026-02-01&to=2026-02-28&groupBy=month');
    expect(feb.map((r) => r.ordersPaid)).toEqual([19]);
    expect(feb).toEqual(inCny(await fromOrders('YYYY-MM', '2026-02-01', '2026-02-28')));
  });

  it('reports each channel account with the days its aggregates cover', async () => {
    const res = await h.admin('GET', '/v1/finance/reports/channels?from=2026-01-01&to=2026-03-31');
    expect(res.status).toBe(200);
    const ours = res.body.channels.find((c: { channel: string }) => c.channel === channel);
    const orders = Object.values(DAYS).reduce((a, b) => a + b, 0) + 4;
    expect(ours).toMatchObject({ ordersCreated: orders, ordersPaid: orders, successRate: 1, refunds: 0, chargebacks: 0 });
    expect(ours.amounts).toEqual([expect.objectContaining({ currency: 'CNY', paid: (await fromOrders('YYYY-MM', '2026-01-01', '2026-03-31')).reduce((a, r) => a + r.paid, 0) })]);
    expect(res.body.coverage).toContainEqual({ channel, days: Object.keys(DAYS).length });
  });
});
