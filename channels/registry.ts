import type { Config } from '../infra/config';
import { sandboxKeys } from '../sandbox/keys';
import { createChannelHttp, type ChannelHttp } from './http';
import { sandboxChannel } from './sandbox/adapter';
import type { ChannelAccount, ChannelAdapter, ChannelDefinition, ChannelType } from './types';

/** Every channel type the platform speaks: the one list. */
export function channelDefinitions(config: Pick<Config, 'SANDBOX_PRIVATE_KEY' | 'SANDBOX_PUBLIC_KEY'>) {
  const definitions: ChannelDefinition<any>[] = [sandboxChannel(sandboxKeys(config).publicKeyPem)];
  return new Map<ChannelType, ChannelDefinition<any>>(definitions.map((d) => [d.type, d]));
}

export interface ChannelRegistry {
  /** The adapter of an enabled channel account. */
  get(channelId: string): ChannelAdapter | undefined;
  /** The enabled accounts' ids, in configuration order. */
  names(): string[];
}

export interface RegistryDeps {
  config: Pick<Config, 'PUBLIC_BASE_URL' | 'SANDBOX_ENABLED' | 'SANDBOX_PRIVATE_KEY' | 'SANDBOX_PUBLIC_KEY' | 'CHANNEL_HTTP_TIMEOUT_MS'>;
  http?: ChannelHttp;
}

/** The channel accounts this deployment takes payments through. */
export function createChannelRegistry({ config, http }: RegistryDeps): ChannelRegistry {
  const definitions = channelDefinitions(config);
  const client = http ?? createChannelHttp({ timeoutMs: config.CHANNEL_HTTP_TIMEOUT_MS });
  const accounts: ChannelAccount[] = config.SANDBOX_ENABLED ? [{ channelId: 'sandbox', type: 'sandbox', credentials: {} }] : [];
  const adapters = new Map<string, ChannelAdapter>();
  for (const account of accounts) {
    const definition = definitions.get(account.type)!;
    adapters.set(
      account.channelId,
      definition.createAdapter(
        { ...account, credentials: definition.credentials.parse(account.credentials) },
        {
          http: client,
          callbackUrl: `${config.PUBLIC_BASE_URL}/v1/callbacks/${encodeURIComponent(account.channelId)}`,
          publicBaseUrl: config.PUBLIC_BASE_URL,
        },
      ),
    );
  }
  return {
    get: (channelId) => adapters.get(channelId),
    names: () => [...adapters.keys()],
  };
}
