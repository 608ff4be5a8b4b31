import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ensureConsoleBuilt } from '../../scripts/lib/console-build';
import { Harness, type TestGame } from './harness';

/**
 * The console's browser tests' one setup: Debian's Chromium (`apt-get install chromium`), the console
 * built, a fresh 1280×800 context per test, and the sign-in through the page's own form.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchConsoleBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  ensureConsoleBuilt(() => undefined);
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}

export async function newConsolePage(browser: Browser): Promise<Page> {
  return (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
}

/** Signs in on the sign-in form the page shows (the operator only with the shared token), Enter submitting it. */
export async function signIn(page: Page, { token, operator }: { token: string; operator?: string }): Promise<void> {
  await page.getByLabel('Admin token').fill(token);
  if (operator) await page.getByLabel('Operator').fill(operator);
  await page.getByLabel('Admin token').press('Enter');
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** What a console browser test file works with: the system with its game, and this test's page. */
export interface ConsoleSystem {
  h: Harness;
  game: TestGame;
  sku: string;
  page: Page;
  /** The console's URL of `path` (e.g. `/orders`). */
  url(path: string): string;
}

/**
 * The jest lifecycle every console browser test file shares: Chromium and the system (Harness with a
 * game; `overrides` its settings) once per file, then `setUp`; a fresh page per test, then `eachPage`.
 * The fields are filled in before the first test runs.
 */
export function consoleSystem(
  options: { overrides?: Record<string, string>; setUp?: (s: ConsoleSystem) => Promise<void>; eachPage?: (s: ConsoleSystem) => Promise<void> } = {},
): ConsoleSystem {
  let browser: Browser | undefined;
  const s = { url: (path: string) => `${s.h.api.url}/console${path}` } as ConsoleSystem;
  beforeAll(async () => {
    browser = await launchConsoleBrowser();
    Object.assign(s, await Harness.startWithGame(options.overrides));
    await options.setUp?.(s);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await s.h?.close();
  });
  beforeEach(async () => {
    s.page = await newConsolePage(browser!);
    await options.eachPage?.(s);
  });
  afterEach(() => s.page.context().close());
  return s;
}
