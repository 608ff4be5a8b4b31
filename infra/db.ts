import { PrismaPg } from '@prisma/adapter-pg';
import { Prisma, PrismaClient } from '../generated/prisma/client';

export type Db = PrismaClient;

/** Timestamps are stored as UTC `timestamp(3)`, as Prisma writes them, whatever the session's time zone. */
export const NOW_UTC = Prisma.sql`(now() AT TIME ZONE 'UTC')`;
export const utc = (iso: string) => Prisma.sql`(${iso}::timestamptz AT TIME ZONE 'UTC')`;

/** Prisma 7 runs on the node-postgres driver adapter: no native query engine. */
export function createDb(databaseUrl: string, poolSize = 10): Db {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: poolSize });
  // Under load a transaction may wait for a pooled connection longer than Prisma's 2 s default.
  return new PrismaClient({ adapter, transactionOptions: { maxWait: 5_000, timeout: 10_000 } });
}
