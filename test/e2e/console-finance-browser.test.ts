import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { dayOf } from '../../domain/reconciliation/days';
import { SANDBOX_FEE_RATE_BASIS_POINTS } from '../../sandbox/statements';
import { consoleSystem, signIn as signInAs } from '../support/console-browser';
import { sleep } from '../support/harness';

// The console's finance and operations pages in Debian's Chromium against the real running system
// (API, worker, finance worker, Temporal, PostgreSQL): reconciliation (rerun, resolve), revenue and the
// channels report checked against the API, the ledger, stuck work, live channel health, and roles.
const OPERATOR = 'fiona@studio.example';
const SCREENSHOTS = process.env.CONSOLE_SCREENSHOTS;
const tokens = { ops: `ops-${randomBytes(12).toString('hex')}`, finance: `fin-${randomBytes(12).toString('hex')}` };

/** A sandbox account of this file's own: its statement lists only this file's payments. */
const channel = `cons-${randomUUID().slice(0, 8)}`;

const s = consoleSystem({
  overrides: { ADMIN_TOKENS: `olga:ops:${tokens.ops},fred:finance:${tokens.finance}` },
  async setUp({ h }) {
    expect(
      (await h.admin('PUT', `/v1/admin/channels/${channel}`, { type: 'sandbox', enabled: true, routing: { feeRateBps: SANDBOX_FEE_RATE_BASIS_POINTS } })).status,
    ).toBe(200);
    await sleep(1_500); // the worker learns of the account from the database's change feed
  },
});
const today = () => dayOf(new Date(), s.h.config.RECON_TIME_ZONE);

const signIn = (token = s.h.config.ADMIN_TOKEN, operator: string | undefined = OPERATOR) => signInAs(s.page, { token, operator });

async function paidOrder() {
  const res = await s.h.createOrder(s.game, { userId: `user-${randomUUID().slice(0, 8)}`, sku: s.sku, region: 'CN', channel });
  expect(res.status).toBe(201);
  expect((await s.h.pay(res.body.payment.channelPaymentId)).status).toBe(202);
  await s.h.waitForStatus(res.body.orderId, 'DELIVERED');
  return res.body.orderId as string;
}

/** A table's body as text rows (cells joined by |). */
async function rowsOf(testId: string): Promise<string[]> {
  return s.page.getByTestId(testId).locator('tbody tr').evaluateAll((rows: any[]) => rows.map((r) => [...r.cells].map((c: any) => String(c.innerText).trim()).join('|')));
}

const major = (minor: number) => (minor / 100).toFixed(2);

/** Nothing scrolls sideways at 1280×800. */
async function expectNoSidewaysScroll() {
  expect(await s.page.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
}

describe('the finance pages in a browser', () => {
  it('reruns a day from the reconciliation page, follows it live until done, and resolves a difference with a note', async () => {
    await paidOrder();
    await paidOrder();
    const date = today();
    const planted = await s.h.admin('POST', `/sandbox/statements/${date}/adjustments`, { kind: 'EXTRA', amount: 777, currency: 'CNY', channelId: channel });
    expect(planted.status).toBe(201);

    await s.page.goto(s.url(`/finance/reconciliation?channel=${channel}`));
    await signIn();
    await s.page.getByText('No runs match.').waitFor();
    await s.page.getByLabel('Rerun from').fill(date);
    await s.page.getByRole('button', { name: 'Rerun' }).click();
    await s.page.getByRole('status').getByText('1 run(s) started').waitFor();
    // Followed live: the row turns COMPLETED without a reload.
    await s.page.getByTestId('runs-table').getByRole('cell', { name: 'COMPLETED', exact: true }).waitFor({ timeout: 60_000 });
    const [run] = (await s.h.admin('GET', `/v1/finance/reconciliations?channel=${channel}`)).body.runs;
    expect(run).toMatchObject({ date, status: 'COMPLETED', trigger: 'API', requestedBy: OPERATOR });
    expect((await rowsOf('runs-table'))[0]).toContain(`${date}|${channel}|COMPLETED|API|${OPERATOR}`);
    await expectNoSidewaysScroll();
    expect(new URL(s.page.url()).searchParams.get('channel')).toBe(channel);

    await s.page.getByRole('link', { name: 'open' }).first().click();
    await s.page.getByRole('heading', { name: `Run ${channel} ${date}` }).waitFor();
    const differences = await rowsOf('differences-table');
    expect(differences).toEqual([expect.stringMatching(new RegExp(`^MISSING_IN_PLATFORM\\|OPEN\\|[^|]*\\|${planted.body.channelTradeNo}\\|—\\|CNY 7\\.77\\|`))]);
    await s.page.getByRole('button', { name: 'Resolve' }).click();
    const dialog = s.page.getByRole('dialog', { name: 'Resolve' });
    await dialog.getByLabel('Note').fill('foreign payment refunded by the channel, ticket FIN-77');
    await dialog.getByRole('button', { name: 'Resolve' }).click();
    await s.page.getByTestId('differences-table').getByText(`RESOLVED by ${OPERATOR}`).waitFor();
    const [resolved] = (await s.h.admin('GET', `/v1/finance/differences?channel=${channel}&from=${date}&to=${date}`)).body.differences;
    expect(resolved).toMatchObject({ resolution: 'RESOLVED', resolvable: false, resolvedBy: OPERATOR, note: 'foreign payment refunded by the channel, ticket FIN-77', channel, date });
    expect(await s.page.getByRole('button', { name: 'Resolve' }).count()).toBe(0);

    // The filters of the run page are in its URL.
    await s.page.getByLabel('Resolution').selectOption('OPEN');
    await s.page.getByRole('button', { name: 'Apply' }).click();
    await s.page.getByText('No differences match.').waitFor();
    expect(new URL(s.page.url()).searchParams.get('resolution')).toBe('OPEN');
    await s.page.reload();
    await s.page.getByText('No differences match.').waitFor();
    if (SCREENSHOTS) {
      await s.page.goto(s.url(`/finance/reconciliation?channel=${channel}`));
      await s.page.getByTestId('runs-table').waitFor();
      await s.page.screenshot({ path: join(SCREENSHOTS, 'console-reconciliation.png') });
    }
  }, 120_000);

  it('shows revenue per day in one currency as a chart and the same figures as the API, the URL reopening the view; CSV is the API\'s', async () => {
    const date = today();
    const path = `/finance/revenue?from=${date}&to=${date}&groupBy=day&channel=${channel}`;
    await s.page.goto(s.url(path));
    await signIn();
    const api = (await s.h.admin('GET', `/v1/finance/reports/revenue?from=${date}&to=${date}&groupBy=day&by=currency&channel=${channel}`)).body;
    const cny = api.rows.filter((r: { currency: string }) => r.currency === 'CNY');
    expect(cny).toHaveLength(1);
    const r = cny[0];
    expect(r.ordersPaid).toBeGreaterThanOrEqual(2);
    await s.page.getByTestId('revenue-table').waitFor();
    expect(await rowsOf('revenue-table')).toEqual([`${date}|${r.ordersPaid}|${major(r.paid)}|${major(r.revenue)}|${major(r.refunded)}|${major(r.chargedBack)}`]);
    expect(await s.page.locator('main').innerText()).toContain(`Days of ${s.h.config.RECON_TIME_ZONE}`);
    // The chart: an SVG with its text alternative, bars for the three series.
    const chart = s.page.getByTestId('chart');
    expect(await chart.getAttribute('aria-label')).toContain('Revenue, paid and refunded per day (CNY): Revenue, Paid, Refunded per period');
    expect(await chart.locator('svg').count()).toBe(1);
    await expectNoSidewaysScroll();

    await s.page.reload();
    await s.page.getByTestId('revenue-table').waitFor();
    expect(new URL(s.page.url()).pathname + new URL(s.page.url()).search).toBe(`/console${path}`);
    const csvHref = await s.page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
    const csv = await s.page.evaluate<string>(`fetch(${JSON.stringify(csvHref)}).then((r) => r.text())`);
    expect(csv.split('\n')[1]).toBe(`${date},CNY,${r.ordersPaid},${r.paid},${r.delivered},${r.revenue},${r.refunds},${r.refunded},${r.chargebacks},${r.chargedBack}`);
    if (SCREENSHOTS) await s.page.screenshot({ path: join(SCREENSHOTS, 'console-revenue.png') });

    // A range the API refuses: its message, with a retry.
    await s.page.goto(s.url('/finance/revenue?from=2020-01-01&to=2026-01-01'));
    await s.page.getByRole('alert').getByText('at most 731 days per report').waitFor();
    await s.page.getByRole('button', { name: 'Retry' }).waitFor();
  }, 60_000);

  it('shows the channels report per account and day as the API answers it, and the trial balance with totals per currency', async () => {
    const date = today();
    await s.page.goto(s.url(`/finance/channels?from=${date}&to=${date}&groupBy=day`));
    await signIn();
    const api = (await s.h.admin('GET', `/v1/finance/reports/channels?from=${date}&to=${date}&groupBy=day`)).body;
    const mine = api.periods.find((p: { channel: string }) => p.channel === channel);
    expect(mine).toMatchObject({ period: date, ordersPaid: expect.any(Number) });
    await s.page.getByTestId('periods-table').waitFor();
    expect(await rowsOf('periods-table')).toContain(`${date}|${channel}|${mine.ordersCreated}|${mine.ordersPaid}|${(mine.successRate * 100).toFixed(1)} %`);
    expect(await s.page.getByTestId('chart').locator('svg').count()).toBe(1);
    if (SCREENSHOTS) await s.page.screenshot({ path: join(SCREENSHOTS, 'console-channels-report.png') });

    await s.page.getByRole('link', { name: 'Ledger' }).click();
    await s.page.getByTestId('totals-table').waitFor();
    const balance = (await s.h.admin('GET', '/v1/finance/ledger/trial-balance')).body;
    const cny = balance.totals.find((t: { currency: string }) => t.currency === 'CNY');
    expect(await rowsOf('totals-table')).toContain(`CNY|${major(cny.debits)}|${major(cny.credits)}`);
    await s.page.getByRole('link', { name: `revenue:${s.game.gameId}`, exact: true }).click();
    await s.page.getByTestId('entries-table').waitFor();
    expect((await rowsOf('entries-table')).some((row) => row.includes('GOODS_DELIVERED'))).toBe(true);
    expect(s.page.url()).toBe(s.url(`/finance/ledger/accounts/${encodeURIComponent(`revenue:${s.game.gameId}`)}`));
  }, 60_000);
});

describe('operations pages and roles in a browser', () => {
  it('lists channel accounts with their breakers live (no reload), and stuck work', async () => {
    await s.page.goto(s.url('/channels'));
    await signIn();
    await s.page.getByTestId('channels-table').getByRole('cell', { name: channel, exact: true }).waitFor();
    const checked = async () => s.page.getByTestId('channels-table').locator('caption time').getAttribute('datetime');
    const first = await checked();
    const calls = async () => (await rowsOf('channels-table')).find((row) => row.startsWith(`${channel}|`))!.split('|')[4];
    const before = Number(await calls());
    await paidOrder();
    // The page polls: the new call shows without a reload.
    const deadline = Date.now() + 15_000;
    while (Number(await calls()) <= before) {
      if (Date.now() > deadline) throw new Error('the channels page did not update');
      await sleep(250);
    }
    expect(await checked()).not.toBe(first);

    await s.page.getByRole('link', { name: 'Stuck' }).click();
    await s.page.getByRole('heading', { name: 'Failing activities' }).waitFor();
    await s.page.getByText('Nothing has been failing that long.').waitFor();
    await s.page.getByRole('heading', { name: 'Revocations awaiting a person' }).waitFor();
  }, 60_000);

  it('signs a finance token in under its own name: no orders or operations pages, and the API refuses them', async () => {
    await s.page.goto(s.url('/orders'));
    await signIn(tokens.finance, undefined);
    expect(await s.page.locator('.who').innerText()).toContain('fred (finance)');
    await s.page.getByRole('heading', { name: 'Not found' }).waitFor();
    const nav = await s.page.getByRole('navigation', { name: 'Main' }).innerText();
    expect(nav).toContain('Revenue');
    expect(nav).not.toContain('Orders');
    expect(nav).not.toContain('Stuck');
    expect(await s.page.evaluate<number>("fetch('/v1/ops/orders?sort=newest').then((r) => r.status)")).toBe(403);
    await s.page.goto(s.url('/'));
    await s.page.getByRole('heading', { name: 'Revenue' }).waitFor();
  });

  it('signs an ops token in: orders and channels, no finance pages', async () => {
    await s.page.goto(s.url('/finance/revenue'));
    await signIn(tokens.ops, undefined);
    expect(await s.page.locator('.who').innerText()).toContain('olga (ops)');
    await s.page.getByRole('heading', { name: 'Not found' }).waitFor();
    const nav = await s.page.getByRole('navigation', { name: 'Main' }).innerText();
    expect(nav).toContain('Channels');
    expect(nav).not.toContain('Revenue');
    expect(await s.page.evaluate<number>("fetch('/v1/finance/ledger/trial-balance').then((r) => r.status)")).toBe(403);
  });
});
