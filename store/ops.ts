import type { Db } from '../infra/db';

/** The audit trail of operators' actions on orders. */

export async function auditRequested(
  db: Db,
  action: { orderId: string; operator: string; onBehalfOf?: string; action: string; reason: string },
): Promise<bigint> {
  const row = await db.opsAction.create({ data: { ...action, outcome: 'REQUESTED' } });
  return row.id;
}

export async function auditOutcome(db: Db, id: bigint, outcome: 'ACCEPTED' | 'REFUSED' | 'FAILED', detail?: string) {
  await db.opsAction.update({ where: { id }, data: { outcome, detail } });
}
