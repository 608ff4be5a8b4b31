import type { DevServer } from '../../scripts/lib/temporal-cli';
import { DEV_SERVER_KEY } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  // Jest runs setup and teardown in the same context, so the handle left by setup is visible here.
  await ((globalThis as Record<string, unknown>)[DEV_SERVER_KEY] as DevServer | undefined)?.stop();
}
