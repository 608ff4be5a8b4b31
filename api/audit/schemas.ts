import { z } from 'zod';
import { timestamp } from '../shared/schemas';

/** Operators' audit trail: configuration changes and actions on orders. */
export const auditQuery = z.strictObject({
  since: z.iso.datetime({ offset: true }).optional().meta({ description: 'entries at or after this instant', examples: ['2026-12-01T00:00:00Z'] }),
  until: z.iso.datetime({ offset: true }).optional().meta({ description: 'entries before this instant', examples: ['2026-12-08T00:00:00Z'] }),
  limit: z.coerce.number().int().min(1).max(1000).default(100).meta({ examples: [100] }),
});

const auditEntry = z.strictObject({
  at: timestamp,
  actor: z.string().meta({ description: "who acted: the operator token's name (the shared ADMIN_TOKEN: its X-Operator, else `admin`)" }),
  operator: z.string().optional().meta({ description: 'X-Operator of a named token: on whose behalf the actor acted' }),
  entity: z.string().meta({ examples: ['game', 'channel_account', 'order'] }),
  entityId: z.string(),
  action: z.string().meta({ description: 'CREATE, UPDATE or DELETE of a configuration entity; the action on an order (REFUND, RETRY_DELIVERY, ...)' }),
  before: z.unknown().optional(),
  after: z.unknown().optional(),
  outcome: z.string().optional().meta({ description: "an action on an order: REQUESTED, ACCEPTED, REFUSED or FAILED" }),
});

export const auditResponse = z.strictObject({ entries: z.array(auditEntry) }).meta({ id: 'AuditTrail' });
