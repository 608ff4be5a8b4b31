import type { Logger } from 'pino';
import { createChannelRegistry, type ChannelRegistry, type ConfiguredAccount } from '../channels/registry';
import type { ChannelType } from '../channels/types';
import type { RoutingFields } from '../domain/routing/fields';
import { listChannelAccounts } from '../store/channel-accounts';
import type { Config } from '../infra/config';
import type { ConfigChanges } from '../infra/config-changes';
import { decryptCredentials, parseKeyring } from '../infra/credentials';
import type { Database } from '../infra/db';

/**
 * The process's channel registry over the configured accounts: loaded at start, reloaded when the
 * accounts change (every process hears of it within a second, see infra/config-changes.ts).
 */
export async function startChannelRegistry(
  config: Config,
  database: Database,
  changes?: ConfigChanges,
  log?: Pick<Logger, 'warn'>,
): Promise<ChannelRegistry> {
  const keyring = parseKeyring(config.CREDENTIALS_KEYS, config.CREDENTIALS_ACTIVE_KEY);
  const loadAccounts = async (): Promise<ConfiguredAccount[]> =>
    (await listChannelAccounts(database.db)).map((row) => ({
      channelId: row.id,
      type: row.type as ChannelType,
      enabled: row.enabled,
      credentials:
        row.credentialsCiphertext && row.credentialsKeyId ? decryptCredentials(keyring, row.credentialsCiphertext, row.credentialsKeyId) : {},
      routing: row.routing as Partial<RoutingFields> | null,
      version: row.updatedAt.toISOString(),
    }));
  const registry = createChannelRegistry({
    config,
    loadAccounts,
    onInvalidAccount: (channelId, reason) => log?.warn({ channelId, reason }, 'channel account left out'),
  });
  await registry.refresh();
  changes?.on('channel_accounts', () => registry.refresh());
  return registry;
}
