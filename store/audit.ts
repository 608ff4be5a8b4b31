import type { Prisma } from '../generated/prisma/client';
import type { Db, RunSql } from '../infra/db';
import { isoOf, sql, utc } from './sql';

/** Who made a change: the operator's token name (or `system`), and whom they acted for (X-Operator). */
export interface AuditActor {
  actor: string;
  onBehalfOf?: string;
}

/** The audit columns of a change, from a plain actor name (scripts, tests) or an operator's call. */
export const auditColumns = (by: AuditActor | string): { actor: string; onBehalfOf: string | null } =>
  typeof by === 'string' ? { actor: by, onBehalfOf: null } : { actor: by.actor, onBehalfOf: by.onBehalfOf ?? null };

export interface AuditEntry {
  at: string;
  actor: string;
  operator?: string;
  entity: string;
  entityId: string;
  action: string;
  before?: unknown;
  after?: unknown;
  outcome?: string;
}

interface AuditRow {
  at: string;
  actor: string;
  on_behalf_of: string | null;
  entity: string;
  entity_id: string;
  action: string;
  before: unknown;
  after: unknown;
  outcome: string | null;
}

/**
 * Both audit trails, newest first: configuration changes (games, items, channel accounts, risk lists:
 * `CREATE`, `UPDATE` or `DELETE` by their before and after) and operators' actions on orders.
 */
export async function listAudit(run: RunSql, q: { since?: Date; until?: Date; limit: number }): Promise<AuditEntry[]> {
  const since = utc((q.since ?? new Date(0)).toISOString());
  const until = utc((q.until ?? new Date('9999-12-31T00:00:00Z')).toISOString());
  const rows = await run<AuditRow>(sql`
    SELECT * FROM (
      (SELECT ${isoOf(sql`at`)} AS at, at AS sort_at, id AS sort_id, 0 AS trail, actor, on_behalf_of, entity, entity_id,
          CASE WHEN before IS NULL THEN 'CREATE' WHEN after IS NULL THEN 'DELETE' ELSE 'UPDATE' END AS action,
          before, after, NULL::text AS outcome
        FROM config_audit WHERE at >= ${since} AND at < ${until} ORDER BY at DESC, id DESC LIMIT ${q.limit})
      UNION ALL
      (SELECT ${isoOf(sql`created_at`)}, created_at, id, 1, operator, on_behalf_of, 'order', order_id::text, action,
          NULL::jsonb, jsonb_build_object('reason', reason) || CASE WHEN detail IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('detail', detail) END,
          outcome
        FROM ops_actions WHERE created_at >= ${since} AND created_at < ${until} ORDER BY created_at DESC, id DESC LIMIT ${q.limit})
    ) entries ORDER BY sort_at DESC, trail, sort_id DESC LIMIT ${q.limit}`);
  return rows.map((r) => ({
    at: r.at,
    actor: r.actor,
    ...(r.on_behalf_of !== null && { operator: r.on_behalf_of }),
    entity: r.entity,
    entityId: r.entity_id,
    action: r.action,
    ...(r.before !== null && { before: r.before }),
    ...(r.after !== null && { after: r.after }),
    ...(r.outcome !== null && { outcome: r.outcome }),
  }));
}

/** Records an operator's change that has no row of its own to audit beside (blacklist entries). */
export async function auditChange(
  db: Db,
  change: { entity: string; entityId: string; before?: unknown; after?: unknown },
  by: AuditActor | string,
): Promise<void> {
  await db.configAudit.create({
    data: {
      entity: change.entity,
      entityId: change.entityId,
      ...auditColumns(by),
      before: (change.before ?? undefined) as Prisma.InputJsonValue | undefined,
      after: (change.after ?? undefined) as Prisma.InputJsonValue | undefined,
    },
  });
}
