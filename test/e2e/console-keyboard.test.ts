import { randomUUID } from 'node:crypto';
import { dayOf } from '../../domain/reconciliation/days';
import { consoleSystem, signIn } from '../support/console-browser';

// The console by keyboard alone, in Debian's Chromium against the real running system: every page's
// controls reached by Tab in reading order with a visible focus, Enter submitting forms, dialogs taking
// focus, keeping it inside, closing on Escape and giving it back to their button.
const OPERATOR = 'kim@studio.example';

const s = consoleSystem({
  async eachPage({ h, page, url }) {
    await page.goto(url('/orders'));
    await signIn(page, { token: h.config.ADMIN_TOKEN, operator: OPERATOR });
  },
});

interface Stop {
  name: string;
  /** The :focus-visible outline is drawn. */
  visible: boolean;
  inDialog: boolean;
}

/** What has the focus: its label (or text), whether its focus shows, whether it is inside an open dialog. */
async function focused(): Promise<Stop | undefined> {
  // In the page (a string: the test's own tsconfig has no DOM types).
  return s.page.evaluate<Stop | undefined>(`(() => {
    const e = document.activeElement;
    if (!e || e === document.body) return undefined;
    const label = e.labels && e.labels[0] ? e.labels[0].innerText.split('\\n')[0] : '';
    const style = getComputedStyle(e);
    return {
      name: (e.getAttribute('aria-label') || label || e.innerText || '').trim(),
      visible: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0,
      inDialog: !!e.closest('dialog[open]'),
    };
  })()`);
}

/**
 * Tabs from the top of a freshly opened page until the focus leaves it (or comes round again): the
 * stops in order (a date field's day, month and year parts are one stop).
 */
async function tabStops(path: string, ready: string): Promise<Stop[]> {
  await s.page.goto(s.url(path));
  await s.page.getByRole('heading', { name: ready, exact: true }).waitFor();
  const stops: Stop[] = [];
  for (let i = 0; i < 80; i++) {
    await s.page.keyboard.press('Tab');
    const stop = await focused();
    if (!stop || (stops.length > 0 && stop.name === stops[0]!.name && stops.length > 3)) break;
    if (stop.name !== stops[stops.length - 1]?.name) stops.push(stop);
  }
  return stops;
}

/** `names` appear in `stops` in this order (other stops may come between). */
function expectInOrder(stops: Stop[], names: string[]) {
  const seen = stops.map((s) => s.name);
  let at = 0;
  for (const name of names) {
    const found = seen.indexOf(name, at);
    if (found < 0) throw new Error(`"${name}" is not reached by Tab after "${seen[at - 1] ?? 'the top'}"; stops: ${seen.join(' → ')}`);
    at = found + 1;
  }
  const hidden = stops.filter((s) => !s.visible).map((s) => s.name);
  expect(hidden).toEqual([]);
}

/** Presses Tab until the control named `name` has the focus. */
async function tabTo(name: string) {
  for (let i = 0; i < 80; i++) {
    await s.page.keyboard.press('Tab');
    if ((await focused())?.name === name) return;
  }
  throw new Error(`Tab never reached "${name}"`);
}

const NAV = ['Orders', 'Stuck', 'Channels', 'Revenue', 'Channels report', 'Reconciliation', 'Ledger', 'Search', 'Sign out'];

describe('the console by keyboard', () => {
  it('signs in with the keyboard alone: Tab to each field, Enter submits', async () => {
    await s.page.getByRole('button', { name: 'Sign out' }).click();
    await s.page.getByLabel('Admin token').waitFor();
    await s.page.reload();
    await s.page.getByLabel('Admin token').waitFor();
    await s.page.keyboard.press('Tab');
    expect(await focused()).toMatchObject({ name: 'Admin token', visible: true });
    await s.page.keyboard.type(s.h.config.ADMIN_TOKEN);
    await s.page.keyboard.press('Tab');
    expect(await focused()).toMatchObject({ name: 'Operator', visible: true });
    await s.page.keyboard.type(OPERATOR);
    await s.page.keyboard.press('Tab');
    expect(await focused()).toMatchObject({ name: 'Sign in', visible: true });
    await s.page.keyboard.press('Shift+Tab');
    await s.page.keyboard.press('Enter');
    await s.page.getByRole('heading', { name: 'Orders' }).waitFor();
  });

  it('reaches the navigation, the search and every filter of the orders list; Enter in a field applies the filters', async () => {
    const userId = `player-${randomUUID().slice(0, 8)}`;
    const placed = await s.h.createOrder(s.game, { userId, sku: s.sku, region: 'CN' });
    expect(placed.status).toBe(201);
    const stops = await tabStops('/orders', 'Orders');
    expectInOrder(stops, [...NAV, 'Text', 'Game', 'User', 'Channel', 'Status', 'From', 'To', 'Apply']);

    await s.page.goto(s.url('/orders'));
    await s.page.getByRole('heading', { name: 'Orders' }).waitFor();
    await tabTo('User');
    await s.page.keyboard.type(userId);
    await s.page.keyboard.press('Enter');
    await s.page.getByRole('link', { name: placed.body.orderId }).waitFor();
    expect(new URL(s.page.url()).searchParams.get('user')).toBe(userId);

    // The search box: an order id and Enter opens the order.
    await s.page.goto(s.url('/orders'));
    await s.page.getByRole('heading', { name: 'Orders' }).waitFor();
    await tabTo('Search');
    await s.page.keyboard.type(placed.body.orderId);
    await s.page.keyboard.press('Enter');
    await s.page.getByRole('heading', { name: `Order ${placed.body.orderId}` }).waitFor();
  });

  it("opens an order's action dialog with Enter: focus inside, kept from the page behind, Escape gives it back; the reason is submitted with Enter", async () => {
    const placed = await s.h.createOrder(s.game, { userId: `player-${randomUUID().slice(0, 8)}`, sku: s.sku, region: 'CN' });
    const orderId = placed.body.orderId as string;
    const stops = await tabStops(`/orders/${orderId}`, 'Timeline');
    expectInOrder(stops, [...NAV, 'Close']);

    await s.page.goto(s.url(`/orders/${orderId}`));
    await s.page.getByRole('heading', { name: 'Timeline' }).waitFor();
    await tabTo('Close');
    await s.page.keyboard.press('Enter');
    await s.page.getByRole('dialog', { name: 'Close' }).waitFor();
    expect(await focused()).toMatchObject({ name: 'Reason', inDialog: true });
    // Tab cycles through the dialog's controls (and the browser's own, where the focus is on no element
    // of the page), never to the page behind it.
    const inside = new Set<string>();
    for (let i = 0; i < 6; i++) {
      await s.page.keyboard.press('Tab');
      const stop = await focused();
      if (!stop) continue;
      expect(stop).toMatchObject({ inDialog: true, visible: true });
      inside.add(stop.name);
    }
    expect([...inside].sort()).toEqual(['Cancel', 'Close', 'Reason']);
    await s.page.keyboard.press('Escape');
    await s.page.getByRole('dialog', { name: 'Close' }).waitFor({ state: 'hidden' });
    expect(await focused()).toMatchObject({ name: 'Close', visible: true, inDialog: false });

    await s.page.keyboard.press('Enter');
    expect(await focused()).toMatchObject({ name: 'Reason', inDialog: true });
    await s.page.keyboard.type('player asked to cancel, ticket CS-4242');
    await s.page.keyboard.press('Tab');
    expect(await focused()).toMatchObject({ name: 'Close', inDialog: true, visible: true });
    await s.page.keyboard.press('Enter');
    await s.page.getByTestId('status').getByText('CLOSED').waitFor({ timeout: 20_000 });
    expect(await s.h.db.opsAction.findFirstOrThrow({ where: { orderId } })).toMatchObject({ operator: OPERATOR, reason: 'player asked to cancel, ticket CS-4242' });
  });

  it('reaches every control of the finance and operations pages in order, with a visible focus', async () => {
    const day = dayOf(new Date(), s.h.config.RECON_TIME_ZONE);
    expectInOrder(await tabStops(`/finance/revenue?from=${day}&to=${day}`, 'Revenue'), [...NAV, 'From', 'To', 'Per', 'Game', 'Channel', 'Apply']);
    expectInOrder(await tabStops(`/finance/channels?from=${day}&to=${day}`, 'Channels report'), [...NAV, 'From', 'To', 'Per', 'Apply']);
    expectInOrder(await tabStops('/finance/reconciliation', 'Reconciliation'), [
      ...NAV,
      'Channel',
      'Day',
      'From',
      'To',
      'Apply',
      'Rerun channel',
      'Rerun from',
      'Rerun to',
      'Rerun',
    ]);
    expectInOrder(await tabStops('/finance/ledger', 'Ledger'), [...NAV, 'Currency', 'As of', 'Apply']);
    expectInOrder(await tabStops('/ops/stuck', 'Stuck'), [...NAV, 'Failing for at least (seconds)', 'Apply']);
    expectInOrder(await tabStops('/channels', 'Channels'), NAV);
  }, 60_000);

  it('applies a finance page\'s filters with Enter, keeping them in the URL', async () => {
    await s.page.goto(s.url('/finance/reconciliation'));
    await s.page.getByRole('heading', { name: 'Reconciliation' }).waitFor();
    await tabTo('Channel');
    const channel = `kbd-${randomUUID().slice(0, 8)}`;
    await s.page.keyboard.type(channel);
    await s.page.keyboard.press('Enter');
    await s.page.getByText('No runs match.').waitFor();
    expect(new URL(s.page.url()).searchParams.get('channel')).toBe(channel);
  });
});
