import { routingWithDefaults, type RoutingFields } from '../domain/routing/fields';
import type { RoutableAccount } from '../domain/routing/router';
import type { Config } from '../infra/config';
import { createEgress, egressPolicy } from '../infra/egress';
import { alipayChannel } from './alipay/adapter';
import { appstoreChannel } from './appstore/adapter';
import { googleplayChannel } from './googleplay/adapter';
import { createChannelHttp, type ChannelHttp } from './http';
import { sandboxChannel } from './sandbox/adapter';
import type { ChannelAdapter, ChannelDefinition, ChannelType } from './types';
import { unionpayChannel } from './unionpay/adapter';
import { wechatpayChannel } from './wechatpay/adapter';

/** Every channel type the platform speaks: the one list. */
export function channelDefinitions(config: Pick<Config, 'SANDBOX_PUBLIC_KEY' | 'ADMIN_TOKEN'>) {
  const definitions: ChannelDefinition<any>[] = [
    sandboxChannel({ publicKeyPem: config.SANDBOX_PUBLIC_KEY, adminToken: config.ADMIN_TOKEN }),
    alipayChannel(),
    wechatpayChannel(),
    appstoreChannel(),
    googleplayChannel(),
    unionpayChannel(),
  ];
  return new Map<ChannelType, ChannelDefinition<any>>(definitions.map((d) => [d.type, d]));
}

/** A configured account, its credentials decrypted (the registry validates them for the type). */
export interface ConfiguredAccount {
  channelId: string;
  type: ChannelType;
  enabled: boolean;
  credentials: unknown;
  /** Where it may take payments and at what fee (omitted fields take their defaults). */
  routing?: Partial<RoutingFields> | null;
  /** Changes when the account changes: its adapter is rebuilt then, kept otherwise (caches, tokens). */
  version: string;
}

export interface ChannelRegistry {
  /**
   * The adapter of a configured account, enabled or not: disabling stops new routing only, so a
   * disabled account's callbacks, queries, refunds and statements keep working.
   */
  get(channelId: string): ChannelAdapter | undefined;
  /** The enabled accounts' ids (those that take new payments), in configuration order. */
  names(): string[];
  /** Every account the router considers, disabled ones too (to say so), with its routing fields. */
  accounts(): RoutableAccount[];
  /** Reloads the accounts (on a configuration change); adapters of unchanged accounts are kept. */
  refresh(): Promise<void>;
}

export interface RegistryDeps {
  config: Pick<
    Config,
    | 'PUBLIC_BASE_URL'
    | 'SANDBOX_ENABLED'
    | 'SANDBOX_PUBLIC_KEY'
    | 'CHANNEL_HTTP_TIMEOUT_MS'
    | 'ADMIN_TOKEN'
    | 'EGRESS_ALLOW_PRIVATE_NETWORKS'
    | 'EGRESS_ALLOW_HTTP'
  >;
  /** The configured accounts (the channel_accounts table); none when absent. */
  loadAccounts?: () => Promise<ConfiguredAccount[]>;
  http?: ChannelHttp;
  /** Told of an account whose credentials do not fit its type (it is left out, never half-used). */
  onInvalidAccount?: (channelId: string, reason: string) => void;
}

/** An account's adapter, kept while its version stands. */
interface Built {
  version: string;
  adapter: ChannelAdapter;
  enabled: boolean;
}

/** The built-in sandbox is an account of its own in development, unless one named `sandbox` is configured. */
const IMPLICIT_SANDBOX: ConfiguredAccount = { channelId: 'sandbox', type: 'sandbox', enabled: true, credentials: {}, version: 'implicit' };

/** The channel accounts this deployment takes payments through, kept current by `refresh`. */
export function createChannelRegistry({ config, loadAccounts, http, onInvalidAccount }: RegistryDeps): ChannelRegistry {
  const definitions = channelDefinitions(config);
  const client = http ?? createChannelHttp({ timeoutMs: config.CHANNEL_HTTP_TIMEOUT_MS, egress: createEgress(egressPolicy(config)) });
  let adapters = new Map<string, Built>();
  let routable: RoutableAccount[] = [];

  const build = (accounts: ConfiguredAccount[]) => {
    const next = new Map<string, Built>();
    const nextRoutable: RoutableAccount[] = [];
    const routableOf = (account: ConfiguredAccount, adapter?: ChannelAdapter): RoutableAccount => ({
      channelId: account.channelId,
      type: account.type,
      enabled: adapter !== undefined,
      routing: routingWithDefaults(account.routing),
      storeChannel: adapter?.supports.receipts ?? false,
      ...(account === IMPLICIT_SANDBOX && { fallbackOnly: true }),
    });
    for (const account of accounts) {
      // The sandbox provider runs only where the sandbox is enabled: its accounts go with it.
      if (account.type === 'sandbox' && !config.SANDBOX_ENABLED) continue;
      const kept = adapters.get(account.channelId);
      if (kept && kept.version === account.version) {
        next.set(account.channelId, { ...kept, enabled: account.enabled });
        nextRoutable.push(routableOf(account, account.enabled ? kept.adapter : undefined));
        continue;
      }
      const definition = definitions.get(account.type);
      const credentials = definition?.credentials.safeParse(account.credentials);
      if (!definition || !credentials?.success) {
        if (!account.enabled) nextRoutable.push(routableOf(account));
        else onInvalidAccount?.(account.channelId, definition ? 'its credentials do not fit its type' : `unknown type ${account.type}`);
        continue;
      }
      const adapter = definition.createAdapter(
        { channelId: account.channelId, type: account.type, credentials: credentials.data },
        {
          http: client,
          callbackUrl: `${config.PUBLIC_BASE_URL}/v1/callbacks/${encodeURIComponent(account.channelId)}`,
          publicBaseUrl: config.PUBLIC_BASE_URL,
        },
      );
      next.set(account.channelId, { version: account.version, adapter, enabled: account.enabled });
      nextRoutable.push(routableOf(account, account.enabled ? adapter : undefined));
    }
    adapters = next;
    routable = nextRoutable;
  };

  const withImplicitSandbox = (accounts: ConfiguredAccount[]) =>
    config.SANDBOX_ENABLED && !accounts.some((a) => a.channelId === IMPLICIT_SANDBOX.channelId) ? [IMPLICIT_SANDBOX, ...accounts] : accounts;

  build(withImplicitSandbox([]));
  return {
    get: (channelId) => adapters.get(channelId)?.adapter,
    names: () => [...adapters].filter(([, built]) => built.enabled).map(([channelId]) => channelId),
    accounts: () => routable,
    async refresh() {
      build(withImplicitSandbox(loadAccounts ? await loadAccounts() : []));
    },
  };
}
