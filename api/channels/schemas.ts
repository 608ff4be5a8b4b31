import { z } from 'zod';
import { CHANNEL_TYPES } from '../../channels/types';
import { slug, text, timestamp } from '../shared/schemas';

export const channelIdPath = slug(64).meta({
  description: 'the channel account: orders name it as `channel`, its notifications arrive at /v1/callbacks/{channelId}',
  examples: ['wechat-main'],
});

export const channelAccountBody = z
  .object({
    type: z.enum(CHANNEL_TYPES),
    enabled: z.boolean(),
    displayName: text(200).optional(),
    credentials: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({
        description:
          'Write-only: validated for the type, stored encrypted, never returned or logged; replaced only when present. ' +
          'The fields per type are listed in the README (Channels).',
      }),
  })
  .meta({
    id: 'ChannelAccountUpsert',
    examples: [
      { type: 'sandbox', enabled: true, displayName: 'Sandbox (development)' },
      {
        type: 'wechatpay',
        enabled: true,
        displayName: 'WeChat Pay, main merchant',
        credentials: {
          mchId: '1900000109',
          appId: 'wxd678efh567hg6787',
          apiV3Key: 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6',
          merchantPrivateKey: '-----BEGIN PRIVATE KEY-----\n…\n-----END PRIVATE KEY-----',
          merchantSerialNo: '1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C',
          platformPublicKeys: [{ id: 'PUB_KEY_ID_0114232134912410000000000001', pem: '-----BEGIN PUBLIC KEY-----\n…\n-----END PUBLIC KEY-----' }],
        },
      },
    ],
  });

export const channelAccountView = z
  .strictObject({
    channelId: z.string(),
    type: z.enum(CHANNEL_TYPES),
    enabled: z.boolean(),
    displayName: z.string().optional(),
    hasCredentials: z.boolean().meta({ description: 'credentials are stored (they are never returned)' }),
    updatedAt: timestamp,
  })
  .meta({ id: 'ChannelAccount' });

export const channelAccountsResponse = z.strictObject({ channels: z.array(channelAccountView) });
