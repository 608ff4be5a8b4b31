import type { Db } from '../infra/db';

/** The console's sign-ins, by the SHA-256 of their cookie. */

export async function openSession(db: Db, s: { id: string; operator: string; role: string; expiresAt: Date }) {
  await db.consoleSession.create({ data: s });
}

/** The live session of a cookie, or null (unknown, expired or signed out). */
export function liveSession(db: Db, id: string, now: Date) {
  return db.consoleSession.findFirst({ where: { id, endedAt: null, expiresAt: { gt: now } }, select: { operator: true, role: true, expiresAt: true } });
}

export async function endSession(db: Db, id: string) {
  await db.consoleSession.updateMany({ where: { id, endedAt: null }, data: { endedAt: new Date() } });
}
