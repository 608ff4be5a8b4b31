import { z } from 'zod';
import { text } from '../shared/schemas';
import { operatorHeader } from '../ops/schemas';
import { PERMISSIONS, type Permission } from './roles';

export const SESSION_COOKIE = 'gpc_console';

export const signInBody = z
  .strictObject({
    token: z.string().min(1).max(512).meta({ description: 'the admin token; exchanged once for the sign-in cookie' }),
    operator: operatorHeader.optional().meta({ description: 'who signs in with the single `ADMIN_TOKEN` (required with it; a named token of `ADMIN_TOKENS` is its own name): recorded with every action' }),
  })
  .meta({ id: 'ConsoleSignIn', examples: [{ token: '…', operator: 'alice@studio.example' }] });

export const whoAmI = z
  .strictObject({
    name: text(128),
    role: z.string().meta({ examples: ['admin'] }),
    permissions: z.array(z.enum(PERMISSIONS as [Permission, ...Permission[]])).meta({ description: 'what the console may show and do' }),
    expiresAt: z.iso.datetime(),
  })
  .meta({ id: 'ConsoleSession' });
