import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { consoleSystem, signIn as signInAs } from '../support/console-browser';

// The console in Debian's Chromium (`apt-get install chromium`) against the real running system.
const OPERATOR = 'carol@studio.example';
/** Screenshots for the README, when asked: CONSOLE_SCREENSHOTS=docs/images */
const SCREENSHOTS = process.env.CONSOLE_SCREENSHOTS;

const s = consoleSystem();

async function order(pay = false) {
  const userId = `player-${randomUUID().slice(0, 8)}`;
  const res = await s.h.createOrder(s.game, { userId, sku: s.sku, region: 'CN' });
  if (pay) {
    await s.h.pay(res.body.payment.channelPaymentId, { result: 'SUCCESS' });
    await s.h.waitForStatus(res.body.orderId, 'DELIVERED');
  }
  return { userId, orderId: res.body.orderId as string, channelPaymentId: res.body.payment.channelPaymentId as string };
}

const signIn = () => signInAs(s.page, { token: s.h.config.ADMIN_TOKEN, operator: OPERATOR });

describe('the console in a browser', () => {
  it('shows the sign-in on a deep link, then that order with its timeline; the token is kept nowhere the page can read', async () => {
    const { orderId } = await order(true);
    await s.page.goto(s.url(`/orders/${orderId}`));
    await signIn();
    await s.page.getByRole('heading', { name: `Order ${orderId}` }).waitFor();
    expect(s.page.url()).toBe(s.url(`/orders/${orderId}`));
    const timeline = s.page.getByRole('heading', { name: 'Timeline' }).locator('xpath=following-sibling::ol[1]');
    const items = await timeline.locator('li').allInnerTexts();
    expect(items[0]).toContain('Created');
    expect(items.some((t) => t.includes('DELIVERED'))).toBe(true);
    expect(await s.page.getByTestId('status').innerText()).toContain('DELIVERED');
    expect(await s.page.locator('main').innerText()).toContain('CNY ');
    expect(await s.page.getByRole('cell', { name: `revenue:${s.game.gameId}` }).count()).toBeGreaterThan(0);

    // In the page (a string: the test's own tsconfig has no DOM types).
    const kept = await s.page.evaluate<string>(
      'JSON.stringify({ cookie: document.cookie, local: { ...localStorage }, session: { ...sessionStorage }, url: location.href, html: document.documentElement.outerHTML })',
    );
    expect(kept).not.toContain(s.h.config.ADMIN_TOKEN);
    const [cookie] = await s.page.context().cookies();
    expect(cookie).toMatchObject({ name: 'gpc_console', httpOnly: true, sameSite: 'Strict' });
    if (SCREENSHOTS) await s.page.screenshot({ path: join(SCREENSHOTS, 'console-order.png') });

    await s.page.getByRole('button', { name: 'Sign out' }).click();
    await s.page.getByLabel('Admin token').waitFor();
    await s.page.reload();
    await s.page.getByLabel('Admin token').waitFor();
  });

  it('asks who-am-I and the order side by side on a first load, and serves its code compressed and cached for good', async () => {
    const { orderId } = await order(true);
    await s.page.goto(s.url(`/orders/${orderId}`));
    await signIn();
    // A first load signed in: a new tab of the same browser (the cookie, nothing else of the page).
    const fresh = await s.page.context().newPage();
    // Who-am-I is held until the order is asked (5 s at most): asked side by side, the order is asked
    // while who-am-I waits; asked one after the other, it is not (timing-free, so a busy machine cannot
    // make either look parallel).
    let orderAsked!: () => void;
    const asked = new Promise<boolean>((resolve) => (orderAsked = () => resolve(true)));
    fresh.on('request', (request) => {
      if (new URL(request.url()).pathname === `/v1/ops/orders/${orderId}`) orderAsked();
    });
    let orderAskedFirst = false;
    await fresh.route('**/v1/console/session', async (route) => {
      orderAskedFirst = await Promise.race([asked, new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5_000))]);
      await route.continue();
    });
    await fresh.goto(s.url(`/orders/${orderId}`));
    await fresh.getByRole('heading', { name: 'Timeline' }).waitFor();
    expect(orderAskedFirst).toBe(true);
    // In the page (a string: the test's own tsconfig has no DOM types).
    const calls = await fresh.evaluate<{ name: string; start: number; end: number }[]>(
      "performance.getEntriesByType('resource').filter((e) => e.name.includes('/v1/')).map((e) => ({ name: new URL(e.name).pathname, start: e.startTime, end: e.responseEnd }))",
    );
    const session = calls.filter((c) => c.name === '/v1/console/session');
    const story = calls.filter((c) => c.name === `/v1/ops/orders/${orderId}`);
    expect([session.length, story.length]).toEqual([1, 1]);

    const html = await (await fetch(s.url(`/orders/${orderId}`))).text();
    const app = /<link rel="modulepreload" crossorigin href="(\/console\/assets\/app-[\w-]+\.js)">/.exec(html)?.[1];
    expect(app).toBeDefined();
    const plain = await (await fetch(`${s.h.api.url}${app}`, { headers: { 'Accept-Encoding': 'identity' } })).text();
    for (const encoding of ['br', 'gzip']) {
      const res = await fetch(`${s.h.api.url}${app}`, { headers: { 'Accept-Encoding': encoding } });
      expect([res.status, res.headers.get('content-encoding'), res.headers.get('content-type')]).toEqual([200, encoding, 'text/javascript; charset=utf-8']);
      expect(res.headers.get('cache-control')).toContain('immutable');
      expect(await res.text()).toBe(plain);
    }
  });

  it('finds orders by user id from the Search box; the filters are in the URL and survive a reload', async () => {
    const placed = [await order(), await order()];
    await s.page.goto(s.url('/orders'));
    await signIn();
    await s.page.getByRole('searchbox', { name: 'Search' }).fill(placed[1]!.userId);
    await s.page.getByRole('searchbox', { name: 'Search' }).press('Enter');
    await s.page.getByRole('link', { name: placed[1]!.orderId }).waitFor();
    expect(new URL(s.page.url()).searchParams.get('q')).toBe(placed[1]!.userId);
    expect(await s.page.getByRole('link', { name: placed[0]!.orderId }).count()).toBe(0);
    await s.page.reload();
    await s.page.getByRole('link', { name: placed[1]!.orderId }).waitFor();
    if (SCREENSHOTS) await s.page.screenshot({ path: join(SCREENSHOTS, 'console-orders.png') });

    await s.page.goto(s.url(`/orders?q=nobody-${randomUUID()}`));
    await s.page.getByText('No orders match.').waitFor();

    await s.page.getByRole('searchbox', { name: 'Search' }).fill(placed[0]!.orderId);
    await s.page.getByRole('searchbox', { name: 'Search' }).press('Enter');
    await s.page.getByRole('heading', { name: `Order ${placed[0]!.orderId}` }).waitFor();
  });

  it('refunds a delivered order with a reason and follows it until it settles; Escape closes the dialog and returns focus', async () => {
    const { orderId } = await order(true);
    await s.page.goto(s.url(`/orders/${orderId}`));
    await signIn();
    const refund = s.page.getByRole('button', { name: 'Refund' });
    await refund.click();
    const dialog = s.page.getByRole('dialog', { name: 'Refund' });
    await dialog.waitFor();
    await s.page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect(await s.page.evaluate<string>('document.activeElement?.textContent ?? ""')).toBe('Refund');

    await refund.click();
    await dialog.getByRole('button', { name: 'Refund' }).click();
    // The reason is required: nothing was sent.
    expect(await s.h.db.opsAction.count({ where: { orderId } })).toBe(0);
    await dialog.getByLabel('Reason').fill('player charged twice, ticket CS-9001');
    await dialog.getByRole('button', { name: 'Refund' }).click();
    await s.page.getByTestId('status').getByText('REFUNDED').waitFor({ timeout: 20_000 });
    await s.page.getByText(`${OPERATOR}: REFUND ACCEPTED`).waitFor();
    expect(await s.h.db.opsAction.findFirstOrThrow({ where: { orderId } })).toMatchObject({ operator: OPERATOR, reason: 'player charged twice, ticket CS-9001' });
    expect(await s.page.getByRole('button', { name: 'Refund' }).count()).toBe(0);
  });

  it("closes an unpaid order with a reason, and shows the API's message when the order moved on meanwhile", async () => {
    const unpaid = await order();
    await s.page.goto(s.url(`/orders/${unpaid.orderId}`));
    await signIn();
    await s.page.getByRole('button', { name: 'Close' }).click();
    const dialog = s.page.getByRole('dialog', { name: 'Close' });
    await dialog.getByLabel('Reason').fill('player asked to cancel, ticket CS-9002');
    await dialog.getByRole('button', { name: 'Close' }).click();
    await s.page.getByTestId('status').getByText('CLOSED').waitFor({ timeout: 20_000 });
    await s.page.getByText(`${OPERATOR}: CLOSE ACCEPTED`).waitFor();

    const racing = await order();
    await s.page.goto(s.url(`/orders/${racing.orderId}`));
    await s.page.getByRole('button', { name: 'Close' }).click();
    await s.h.pay(racing.channelPaymentId, { result: 'SUCCESS' });
    await s.h.waitForStatus(racing.orderId, 'DELIVERED');
    await dialog.getByLabel('Reason').fill('too late');
    await dialog.getByRole('button', { name: 'Close' }).click();
    await dialog.getByRole('alert').getByText('CLOSE is not allowed for an order in status DELIVERED').waitFor();
  });
});
