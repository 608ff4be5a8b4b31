import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { dayOf } from '../../domain/reconciliation/days';
import { SANDBOX_FEE_RATE_BASIS_POINTS } from '../../sandbox/statements';
import { launchConsoleBrowser, newConsolePage, signIn as signInAs } from '../support/console-browser';
import { Harness, sleep, type TestGame } from '../support/harness';

// The console's finance and operations pages in Debian's Chromium against the real running system
// (API, worker, finance worker, Temporal, PostgreSQL): reconciliation (rerun, resolve), revenue and the
// channels report checked against the API, the ledger, stuck work, live channel health, and roles.
const OPERATOR = 'fiona@studio.example';
const SCREENSHOTS = process.env.CONSOLE_SCREENSHOTS;
const tokens = { ops: `ops-${randomBytes(12).toString('hex')}`, finance: `fin-${randomBytes(12).toString('hex')}` };

let h: Harness;
let game: TestGame;
let sku: string;
let browser: Browser;
let page: Page;
/** A sandbox account of this file's own: its statement lists only this file's payments. */
const channel = `cons-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  browser = await launchConsoleBrowser();
  ({ h, game, sku } = await Harness.startWithGame({ ADMIN_TOKENS: `olga:ops:${tokens.ops},fred:finance:${tokens.finance}` }));
  expect(
    (await h.admin('PUT', `/v1/admin/channels/${channel}`, { type: 'sandbox', enabled: true, routing: { feeRateBps: SANDBOX_FEE_RATE_BASIS_POINTS } })).status,
  ).toBe(200);
  await sleep(1_500); // the worker learns of the account from the database's change feed
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await h?.close();
});
beforeEach(async () => {
  page = await newConsolePage(browser);
});
afterEach(() => page.context().close());

const url = (path: string) => `${h.api.url}/console${path}`;
const today = () => dayOf(new Date(), h.config.RECON_TIME_ZONE);

const signIn = (token = h.config.ADMIN_TOKEN, operator: string | undefined = OPERATOR) => signInAs(page, { token, operator });

async function paidOrder() {
  const res = await h.createOrder(game, { userId: `user-${randomUUID().slice(0, 8)}`, sku, region: 'CN', channel });
  expect(res.status).toBe(201);
  expect((await h.pay(res.body.payment.channelPaymentId)).status).toBe(202);
  await h.waitForStatus(res.body.orderId, 'DELIVERED');
  return res.body.orderId as string;
}

/** A table's body as text rows (cells joined by |). */
async function rowsOf(testId: string): Promise<string[]> {
  return page.getByTestId(testId).locator('tbody tr').evaluateAll((rows: any[]) => rows.map((r) => [...r.cells].map((c: any) => String(c.innerText).trim()).join('|')));
}

const major = (minor: number) => (minor / 100).toFixed(2);

/** Nothing scrolls sideways at 1280×800. */
async function expectNoSidewaysScroll() {
  expect(await page.evaluate<boolean>('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
}

describe('the finance pages in a browser', () => {
  it('reruns a day from the reconciliation page, follows it live until done, and resolves a difference with a note', async () => {
    await paidOrder();
    await paidOrder();
    const date = today();
    const planted = await h.admin('POST', `/sandbox/statements/${date}/adjustments`, { kind: 'EXTRA', amount: 777, currency: 'CNY', channelId: channel });
    expect(planted.status).toBe(201);

    await page.goto(url(`/finance/reconciliation?channel=${channel}`));
    await signIn();
    await page.getByText('No runs match.').waitFor();
    await page.getByLabel('Rerun from').fill(date);
    await page.getByRole('button', { name: 'Rerun' }).click();
    await page.getByRole('status').getByText('1 run(s) started').waitFor();
    // Followed live: the row turns COMPLETED without a reload.
    await page.getByTestId('runs-table').getByRole('cell', { name: 'COMPLETED', exact: true }).waitFor({ timeout: 60_000 });
    const [run] = (await h.admin('GET', `/v1/finance/reconciliations?channel=${channel}`)).body.runs;
    expect(run).toMatchObject({ date, status: 'COMPLETED', trigger: 'API', requestedBy: OPERATOR });
    expect((await rowsOf('runs-table'))[0]).toContain(`${date}|${channel}|COMPLETED|API|${OPERATOR}`);
    await expectNoSidewaysScroll();
    expect(new URL(page.url()).searchParams.get('channel')).toBe(channel);

    await page.getByRole('link', { name: 'open' }).first().click();
    await page.getByRole('heading', { name: `Run ${channel} ${date}` }).waitFor();
    const differences = await rowsOf('differences-table');
    expect(differences).toEqual([expect.stringMatching(new RegExp(`^MISSING_IN_PLATFORM\\|OPEN\\|[^|]*\\|${planted.body.channelTradeNo}\\|—\\|CNY 7\\.77\\|`))]);
    await page.getByRole('button', { name: 'Resolve' }).click();
    const dialog = page.getByRole('dialog', { name: 'Resolve' });
    await dialog.getByLabel('Note').fill('foreign payment refunded by the channel, ticket FIN-77');
    await dialog.getByRole('button', { name: 'Resolve' }).click();
    await page.getByTestId('differences-table').getByText(`RESOLVED by ${OPERATOR}`).waitFor();
    const [resolved] = (await h.admin('GET', `/v1/finance/differences?channel=${channel}&from=${date}&to=${date}`)).body.differences;
    expect(resolved).toMatchObject({ resolution: 'RESOLVED', resolvable: false, resolvedBy: OPERATOR, note: 'foreign payment refunded by the channel, ticket FIN-77', channel, date });
    expect(await page.getByRole('button', { name: 'Resolve' }).count()).toBe(0);

    // The filters of the run page are in its URL.
    await page.getByLabel('Resolution').selectOption('OPEN');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('No differences match.').waitFor();
    expect(new URL(page.url()).searchParams.get('resolution')).toBe('OPEN');
    await page.reload();
    await page.getByText('No differences match.').waitFor();
    if (SCREENSHOTS) {
      await page.goto(url(`/finance/reconciliation?channel=${channel}`));
      await page.getByTestId('runs-table').waitFor();
      await page.screenshot({ path: join(SCREENSHOTS, 'console-reconciliation.png') });
    }
  }, 120_000);

  it('shows revenue per day in one currency as a chart and the same figures as the API, the URL reopening the view; CSV is the API\'s', async () => {
    const date = today();
    const path = `/finance/revenue?from=${date}&to=${date}&groupBy=day&channel=${channel}`;
    await page.goto(url(path));
    await signIn();
    const api = (await h.admin('GET', `/v1/finance/reports/revenue?from=${date}&to=${date}&groupBy=day&by=currency&channel=${channel}`)).body;
    const cny = api.rows.filter((r: { currency: string }) => r.currency === 'CNY');
    expect(cny).toHaveLength(1);
    const r = cny[0];
    expect(r.ordersPaid).toBeGreaterThanOrEqual(2);
    await page.getByTestId('revenue-table').waitFor();
    expect(await rowsOf('revenue-table')).toEqual([`${date}|${r.ordersPaid}|${major(r.paid)}|${major(r.revenue)}|${major(r.refunded)}|${major(r.chargedBack)}`]);
    expect(await page.locator('main').innerText()).toContain(`Days of ${h.config.RECON_TIME_ZONE}`);
    // The chart: an SVG with its text alternative, bars for the three series.
    const chart = page.getByTestId('chart');
    expect(await chart.getAttribute('aria-label')).toContain('Revenue, paid and refunded per day (CNY): Revenue, Paid, Refunded per period');
    expect(await chart.locator('svg').count()).toBe(1);
    await expectNoSidewaysScroll();

    await page.reload();
    await page.getByTestId('revenue-table').waitFor();
    expect(new URL(page.url()).pathname + new URL(page.url()).search).toBe(`/console${path}`);
    const csvHref = await page.getByRole('link', { name: 'Export CSV' }).getAttribute('href');
    const csv = await page.evaluate<string>(`fetch(${JSON.stringify(csvHref)}).then((r) => r.text())`);
    expect(csv.split('\n')[1]).toBe(`${date},CNY,${r.ordersPaid},${r.paid},${r.delivered},${r.revenue},${r.refunds},${r.refunded},${r.chargebacks},${r.chargedBack}`);
    if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, 'console-revenue.png') });

    // A range the API refuses: its message, with a retry.
    await page.goto(url('/finance/revenue?from=2020-01-01&to=2026-01-01'));
    await page.getByRole('alert').getByText('at most 731 days per report').waitFor();
    await page.getByRole('button', { name: 'Retry' }).waitFor();
  }, 60_000);

  it('shows the channels report per account and day as the API answers it, and the trial balance with totals per currency', async () => {
    const date = today();
    await page.goto(url(`/finance/channels?from=${date}&to=${date}&groupBy=day`));
    await signIn();
    const api = (await h.admin('GET', `/v1/finance/reports/channels?from=${date}&to=${date}&groupBy=day`)).body;
    const mine = api.periods.find((p: { channel: string }) => p.channel === channel);
    expect(mine).toMatchObject({ period: date, ordersPaid: expect.any(Number) });
    await page.getByTestId('periods-table').waitFor();
    expect(await rowsOf('periods-table')).toContain(`${date}|${channel}|${mine.ordersCreated}|${mine.ordersPaid}|${(mine.successRate * 100).toFixed(1)} %`);
    expect(await page.getByTestId('chart').locator('svg').count()).toBe(1);
    if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, 'console-channels-report.png') });

    await page.getByRole('link', { name: 'Ledger' }).click();
    await page.getByTestId('totals-table').waitFor();
    const balance = (await h.admin('GET', '/v1/finance/ledger/trial-balance')).body;
    const cny = balance.totals.find((t: { currency: string }) => t.currency === 'CNY');
    expect(await rowsOf('totals-table')).toContain(`CNY|${major(cny.debits)}|${major(cny.credits)}`);
    await page.getByRole('link', { name: `revenue:${game.gameId}`, exact: true }).click();
    await page.getByTestId('entries-table').waitFor();
    expect((await rowsOf('entries-table')).some((row) => row.includes('GOODS_DELIVERED'))).toBe(true);
    expect(page.url()).toBe(url(`/finance/ledger/accounts/${encodeURIComponent(`revenue:${game.gameId}`)}`));
  }, 60_000);
});

describe('operations pages and roles in a browser', () => {
  it('lists channel accounts with their breakers live (no reload), and stuck work', async () => {
    await page.goto(url('/channels'));
    await signIn();
    await page.getByTestId('channels-table').getByRole('cell', { name: channel, exact: true }).waitFor();
    const checked = async () => page.getByTestId('channels-table').locator('caption time').getAttribute('datetime');
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

    await page.getByRole('link', { name: 'Stuck' }).click();
    await page.getByRole('heading', { name: 'Failing activities' }).waitFor();
    await page.getByText('Nothing has been failing that long.').waitFor();
    await page.getByRole('heading', { name: 'Revocations awaiting a person' }).waitFor();
  }, 60_000);

  it('signs a finance token in under its own name: no orders or operations pages, and the API refuses them', async () => {
    await page.goto(url('/orders'));
    await signIn(tokens.finance, undefined);
    expect(await page.locator('.who').innerText()).toContain('fred (finance)');
    await page.getByRole('heading', { name: 'Not found' }).waitFor();
    const nav = await page.getByRole('navigation', { name: 'Main' }).innerText();
    expect(nav).toContain('Revenue');
    expect(nav).not.toContain('Orders');
    expect(nav).not.toContain('Stuck');
    expect(await page.evaluate<number>("fetch('/v1/ops/orders?sort=newest').then((r) => r.status)")).toBe(403);
    await page.goto(url('/'));
    await page.getByRole('heading', { name: 'Revenue' }).waitFor();
  });

  it('signs an ops token in: orders and channels, no finance pages', async () => {
    await page.goto(url('/finance/revenue'));
    await signIn(tokens.ops, undefined);
    expect(await page.locator('.who').innerText()).toContain('olga (ops)');
    await page.getByRole('heading', { name: 'Not found' }).waitFor();
    const nav = await page.getByRole('navigation', { name: 'Main' }).innerText();
    expect(nav).toContain('Channels');
    expect(nav).not.toContain('Revenue');
    expect(await page.evaluate<number>("fetch('/v1/finance/ledger/trial-balance').then((r) => r.status)")).toBe(403);
  });
});
