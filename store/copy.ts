import { once } from 'node:events';
import type { Readable } from 'node:stream';
import type { PoolClient } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import type { Database } from '../infra/db';
import { sql, type Sql } from './sql';

/**
 * Bulk paths: PostgreSQL's COPY in both directions, for statements of a million lines. COPY takes
 * no bind parameters, so a query's values are inlined as escaped literals (`inline`).
 */

/** The query's text with its parameters as literals (strings escaped by the connection's rules). */
export function inline(client: PoolClient, query: Sql): string {
  return query.text.replace(/\$(\d+)/g, (_, n: string) => literal(client, query.values[Number(n) - 1]));
}

function literal(client: PoolClient, value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value instanceof Date) return client.escapeLiteral(value.toISOString());
  if (typeof value === 'string') return client.escapeLiteral(value);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
    return `ARRAY[${value.map((v) => client.escapeLiteral(v)).join(',')}]::text[]`;
  }
  throw new TypeError(`cannot inline a ${typeof value} into a COPY query`);
}

/** `COPY (query) TO STDOUT` as a stream of its text rows. */
export function copyOut(client: PoolClient, query: Sql): Readable {
  return client.query(copyTo(`COPY (${inline(client, query)}) TO STDOUT`));
}

/** One value of a COPY text row: tabs, newlines and backslashes escaped, null as \N. */
export function copyField(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'number') return String(value);
  if (!COPY_SPECIAL.test(value)) return value;
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}
const COPY_SPECIAL = /[\\\t\n\r]/;

/**
 * Writes `rows` (text rows, each ending in a newline) into `COPY <target> FROM STDIN`, respecting
 * back-pressure. Resolves with the number of rows PostgreSQL took.
 */
export async function copyIn(client: PoolClient, target: string, rows: AsyncIterable<string> | Iterable<string>): Promise<number> {
  const stream = client.query(copyFrom(`COPY ${target} FROM STDIN`));
  const failed = new Promise<never>((_, reject) => stream.once('error', reject));
  failed.catch(() => undefined);
  let batch = '';
  for await (const row of rows) {
    batch += row;
    // Fewer, larger writes: one per ~64 KiB instead of one per row.
    if (batch.length >= 65_536) {
      if (!stream.write(batch)) await Promise.race([once(stream, 'drain'), failed]);
      batch = '';
    }
  }
  if (batch) stream.write(batch);
  stream.end();
  await Promise.race([once(stream, 'finish'), failed]);
  return Number(stream.rowCount ?? 0);
}

const copyInSupport = new WeakMap<Database, Promise<boolean>>();

/**
 * Whether the database takes `COPY … FROM STDIN` over the wire, asked once per database. The
 * embedded dev database (PGlite behind pglite-socket) does not: the COPY sub-protocol loses the
 * connection's synchronisation (08P01) and stalls the one session every connection shares, so it
 * cannot be tried and caught; the server names itself in version() instead. (COPY … TO STDOUT works
 * there.)
 */
export function acceptsCopyIn(database: Database): Promise<boolean> {
  const known = copyInSupport.get(database);
  if (known) return known;
  const asked = database
    .sql<{ embedded: boolean }>(sql`SELECT version() LIKE '%PGlite%' AS embedded`)
    .then(([row]) => !row!.embedded)
    .catch((err: unknown) => {
      copyInSupport.delete(database); // not known: asked again next time
      throw err;
    });
  copyInSupport.set(database, asked);
  return asked;
}
