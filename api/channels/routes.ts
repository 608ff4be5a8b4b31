import { Router } from 'express';
import { channelDefinitions, type ChannelRegistry } from '../../channels/registry';
import type { ChannelType } from '../../channels/types';
import type { Config } from '../../infra/config';
import { encryptCredentials, parseKeyring } from '../../infra/credentials';
import type { Database } from '../../infra/db';
import { findChannelAccount, listChannelAccounts, putChannelAccount, type ChannelAccountRow } from '../../store/channel-accounts';
import { adminAuth } from '../auth';
import { ApiError, parseBody, validationError } from '../errors';
import { jsonBody } from '../shared/body';
import { channelAccountBody, channelIdPath } from './schemas';

/**
 * Channel accounts, configured at runtime: a studio may hold several merchant accounts of one channel
 * type. Credentials are write-only (validated for the type, encrypted at rest, never returned or
 * logged); every change is audited and reaches every process within a second.
 */
export function channelsRouter({ database, config, channels }: { database: Database; config: Config; channels: ChannelRegistry }): Router {
  const { db } = database;
  const definitions = channelDefinitions(config);
  const keyring = parseKeyring(config.CREDENTIALS_KEYS, config.CREDENTIALS_ACTIVE_KEY);
  const router = Router();
  router.use('/v1/admin/channels', adminAuth(config), ...jsonBody('64kb'));

  router.get('/v1/admin/channels', async (_req, res) => {
    res.json({ channels: (await listChannelAccounts(db)).map(view) });
  });

  router.put('/v1/admin/channels/:channelId', async (req, res) => {
    const channelId = parseBody(channelIdPath, req.params.channelId);
    const body = parseBody(channelAccountBody, req.body);
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
      credentials = encryptCredentials(keyring, parsed.data);
    }
    const saved = await putChannelAccount(
      database,
      { id: channelId, type: body.type, enabled: body.enabled, displayName: body.displayName, credentials },
      req.get('x-operator') ?? 'admin',
    );
    await channels.refresh();
    res.json(view(saved));
  });
  return router;
}

function view(row: ChannelAccountRow) {
  return {
    channelId: row.id,
    type: row.type as ChannelType,
    enabled: row.enabled,
    ...(row.displayName !== null && { displayName: row.displayName }),
    hasCredentials: row.credentialsCiphertext !== null,
    updatedAt: row.updatedAt.toISOString(),
  };
}
