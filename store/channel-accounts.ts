import { Prisma } from '../generated/prisma/client';
import type { RoutingFields } from '../domain/routing/fields';
import type { Database, Db } from '../infra/db';
import { sql } from './sql';
import { auditColumns, type AuditActor } from './audit';

/** Channel accounts (runtime configuration) and the audit trail of every configuration change. */

/** Other processes learn of a configuration change through this PostgreSQL notification channel. */
export const CONFIG_CHANGED = 'config_changed';

export interface ChannelAccountRow {
  id: string;
  type: string;
  enabled: boolean;
  displayName: string | null;
  credentialsCiphertext: string | null;
  credentialsKeyId: string | null;
  /** The routing fields as given (omitted ones take their defaults); null: none given. */
  routing: Prisma.JsonValue;
  updatedAt: Date;
}

export function listChannelAccounts(db: Db): Promise<ChannelAccountRow[]> {
  return db.channelAccount.findMany({ orderBy: { createdAt: 'asc' } });
}

export function findChannelAccount(db: Db, id: string): Promise<ChannelAccountRow | null> {
  return db.channelAccount.findUnique({ where: { id } });
}

export interface ChannelAccountWrite {
  id: string;
  type: string;
  enabled: boolean;
  displayName?: string | null;
  /** New encrypted credentials; absent keeps the stored ones. */
  credentials?: { ciphertext: string; keyId: string };
  /** New routing fields; null removes them (the defaults apply); absent keeps the stored ones. */
  routing?: Partial<RoutingFields> | null;
}

/** What the audit keeps of an account: never its credentials, only whether it has some. */
const auditView = (row: ChannelAccountRow | null) =>
  row && {
    type: row.type,
    enabled: row.enabled,
    displayName: row.displayName,
    hasCredentials: row.credentialsCiphertext !== null,
    routing: row.routing,
  };

/**
 * Creates or changes an account, audits the change (who, before, after) and notifies every process,
 * all in one transaction: a change is never applied unaudited, nor audited and lost.
 */
export async function putChannelAccount(database: Database, write: ChannelAccountWrite, by: AuditActor | string): Promise<ChannelAccountRow> {
  const { db } = database;
  return db.$transaction(async (tx) => {
    const before = await tx.channelAccount.findUnique({ where: { id: write.id } });
    const fields = {
      type: write.type,
      enabled: write.enabled,
      ...(write.displayName !== undefined && { displayName: write.displayName }),
      ...(write.credentials && { credentialsCiphertext: write.credentials.ciphertext, credentialsKeyId: write.credentials.keyId }),
      ...(write.routing !== undefined && { routing: write.routing === null ? Prisma.DbNull : (write.routing as Prisma.InputJsonValue) }),
    };
    const after = await tx.channelAccount.upsert({ where: { id: write.id }, create: { id: write.id, ...fields }, update: fields });
    await tx.configAudit.create({
      data: {
        entity: 'channel_account',
        entityId: write.id,
        ...auditColumns(by),
        before: (auditView(before) ?? undefined) as Prisma.InputJsonValue | undefined,
        after: auditView(after) as Prisma.InputJsonValue,
      },
    });
    await tx.$executeRaw(sql`SELECT pg_notify(${CONFIG_CHANGED}, 'channel_accounts')`);
    return after;
  });
}

export function configAuditOf(db: Db, entity: string, entityId: string) {
  return db.configAudit.findMany({ where: { entity, entityId }, orderBy: { id: 'asc' } });
}
