import { Router } from 'express';
import { channelDefinitions, type ChannelRegistry } from '../../channels/registry';
import type { ChannelType } from '../../channels/types';
import { stateAt } from '../../domain/routing/breaker';
import { routingWithDefaults, type RoutingFields } from '../../domain/routing/fields';
import type { RoutableAccount } from '../../domain/routing/router';
import { successRate } from '../../domain/routing/success-rate';
import type { ChannelHealth } from '../../routing/channel-health';
import type { Config } from '../../infra/config';
import { encryptCredentials, parseKeyring } from '../../infra/credentials';
import type { Database } from '../../infra/db';
import { findChannelAccount, listChannelAccounts, putChannelAccount, type ChannelAccountRow } from '../../store/channel-accounts';
import { actorOf, operatorAuth } from '../auth';
import { ApiError, parseBody, validationError } from '../errors';
import { jsonBody } from '../shared/body';
import { assertOutboundUrls } from '../shared/outbound-urls';
import { SANDBOX_FAULT_SETTINGS, channelAccountBody, channelIdPath } from './schemas';

/**
 * Channel accounts, configured at runtime: a studio may hold several merchant accounts of one channel
 * type. Credentials are write-only (validated for the type, encrypted at rest, never returned or
 * logged); every change is audited and reaches every process within a second.
 */
export function channelsRouter({
  database,
  config,
  channels,
  health,
}: {
  database: Database;
  config: Config;
  channels: ChannelRegistry;
  health: ChannelHealth;
}): Router {
  const { db } = database;
  const definitions = channelDefinitions(config);
  const keyring = parseKeyring(config.CREDENTIALS_KEYS, config.CREDENTIALS_ACTIVE_KEY);
  const router = Router();
  router.use('/v1/admin/channels', operatorAuth(config), ...jsonBody('64kb'));

  router.get('/v1/admin/channels', async (_req, res) => {
    // The built-in sandbox account takes orders without a row of its own (where the sandbox is on): listed too.
    const builtIn = channels.accounts().filter((account) => account.fallbackOnly).map(builtInView);
    res.json({ channels: [...builtIn, ...(await listChannelAccounts(db)).map(view)] });
  });

  /** Each account's circuit breaker and recent calls, read from the shared state now (not this process's copy). */
  router.get('/v1/admin/channels/health', async (_req, res) => {
    const now = Date.now();
    const report = await health.store.report(now);
    const accounts = channels.accounts();
    const ids = [...new Set([...accounts.map((a) => a.channelId), ...report.keys()])];
    res.json({
      backend: health.backend,
      checkedAt: new Date(now).toISOString(),
      channels: ids.map((channelId) => {
        const account = accounts.find((a) => a.channelId === channelId);
        const known = report.get(channelId);
        const window = known?.window ?? { calls: 0, failures: 0 };
        const creates = known?.creates ?? { attempts: 0, successes: 0 };
        return {
          channelId,
          ...(account && { type: account.type, enabled: account.enabled }),
          state: known ? stateAt(known.breaker, now, health.settings.breaker) : 'CLOSED',
          ...(known && known.breaker.changedAt > 0 && { stateChangedAt: new Date(known.breaker.changedAt).toISOString() }),
          consecutiveFailures: known?.breaker.consecutiveFailures ?? 0,
          calls: window.calls,
          failures: window.failures,
          ...(window.calls > 0 && { successRate: round4((window.calls - window.failures) / window.calls) }),
          ...(known?.createLatencyP95Ms !== undefined && { createLatencyP95Ms: known.createLatencyP95Ms }),
          creates: { ...creates, successRate: round4(successRate(creates, config.ROUTING_PRIOR_ATTEMPTS)) },
        };
      }),
    });
  });

  router.put('/v1/admin/channels/:channelId', async (req, res) => {
    const channelId = parseBody(channelIdPath, req.params.channelId);
    const body = parseBody(channelAccountBody, req.body);
    const faults = SANDBOX_FAULT_SETTINGS.filter((key) => body.credentials?.[key] !== undefined);
    if (body.type !== 'sandbox' && faults.length) {
      throw new ApiError(400, 'VALIDATION_ERROR', 'fault settings are for sandbox accounts only', {
        issues: faults.map((key) => ({ path: `credentials.${key}`, message: `a ${body.type} account injects no faults` })),
      });
    }
    const existing = await findChannelAccount(db, channelId);
    // Credentials are needed for a new account, or when its type changes; otherwise kept.
    const keeps = existing && existing.type === body.type && body.credentials === undefined;
    let credentials: { ciphertext: string; keyId: string } | undefined;
    if (!keeps) {
      const parsed = definitions.get(body.type as ChannelType)!.credentials.safeParse(body.credentials ?? {});
      if (!parsed.success) {
        const error = validationError(parsed.error);
        // Issues name the field, never its value.
        throw new ApiError(400, 'VALIDATION_ERROR', 'the credentials do not fit this channel type', {
          issues: (error.details as { issues: { path: string; message: string }[] }).issues.map((i) => ({
            path: `credentials.${i.path}`.replace(/\.$/, ''),
            message: i.message,
          })),
        });
      }
      assertOutboundUrls(config, urlFieldsOf(parsed.data));
      credentials = encryptCredentials(keyring, parsed.data);
    }
    const saved = await putChannelAccount(
      database,
      { id: channelId, type: body.type, enabled: body.enabled, displayName: body.displayName, credentials, routing: body.routing },
      actorOf(res),
    );
    await channels.refresh();
    res.json(view(saved));
  });
  return router;
}

/** The credentials' URL fields (base URLs, gateways), by their path in the request. */
function urlFieldsOf(credentials: unknown): Record<string, string> {
  return Object.fromEntries(
    Object.entries(credentials as Record<string, unknown>)
      .filter((entry): entry is [string, string] => typeof entry[1] === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(entry[1]))
      .map(([key, url]) => [`credentials.${key}`, url]),
  );
}

function view(row: ChannelAccountRow) {
  return {
    channelId: row.id,
    type: row.type as ChannelType,
    enabled: row.enabled,
    ...(row.displayName !== null && { displayName: row.displayName }),
    hasCredentials: row.credentialsCiphertext !== null,
    ...(row.routing !== null && { routing: routingWithDefaults(row.routing as Partial<RoutingFields>) }),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function builtInView(account: RoutableAccount) {
  return { channelId: account.channelId, type: account.type as ChannelType, enabled: account.enabled, builtIn: true, hasCredentials: false };
}

const round4 = (value: number) => Math.round(value * 10_000) / 10_000;
