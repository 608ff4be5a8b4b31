import { Prisma } from '../generated/prisma/client';

/**
 * The statement builder of `store/`: `sql` tagged templates with parameters, fragments joined into
 * one statement. Nothing outside `store/` writes SQL.
 */
export const sql = Prisma.sql;
export const join = Prisma.join;
export const raw = Prisma.raw;
export const empty = Prisma.empty;
export type Sql = Prisma.Sql;

/** Timestamps are stored as UTC `timestamp(3)`, as Prisma writes them, whatever the session's time zone. */
export const NOW_UTC = sql`(now() AT TIME ZONE 'UTC')`;
export const utc = (iso: string) => sql`(${iso}::timestamptz AT TIME ZONE 'UTC')`;
/** An ISO 8601 UTC string of a timestamp column, formatted by PostgreSQL. */
export const isoOf = (column: Sql) => sql`to_char(${column}, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** A unique key refused the row: node-postgres's SQLSTATE, Prisma's P2002, or its adapter's kind. */
export function isUniqueViolation(err: unknown): boolean {
  if ((err as { code?: unknown }).code === '23505') return true; // node-postgres: unique_violation
  if (!(err instanceof Prisma.PrismaClientKnownRequestError)) return false;
  const kind = (err.meta?.driverAdapterError as { cause?: { kind?: string } } | undefined)?.cause?.kind;
  return err.code === 'P2002' || kind === 'UniqueConstraintViolation';
}
