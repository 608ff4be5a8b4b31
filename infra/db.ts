import { PrismaPg } from '@prisma/adapter-pg';
import { Pool, types, type PoolClient } from 'pg';
import { Prisma, PrismaClient } from '../generated/prisma/client';

export type Db = PrismaClient;

/**
 * Runs one statement built with `Prisma.sql` and returns its rows. Every SQL statement lives in
 * `store/`, one file per aggregate; this is the one runner they use.
 */
export type RunSql = <T>(query: Prisma.Sql) => Promise<T[]>;

/**
 * The process's database: one node-postgres pool, shared by Prisma's typed client (cold paths) and
 * by `sql`, the runner of the single-statement SQL of the hot path (94 µs of CPU a statement against
 * 283 µs through `$queryRaw`, measured on this machine).
 */
export interface Database {
  db: Db;
  sql: RunSql;
  /** Runs `work` in one transaction on one connection; its statements commit together or not at all. */
  transaction<T>(work: (sql: RunSql) => Promise<T>): Promise<T>;
  /**
   * Lends `work` a connection of its own (COPY streams need one: store/copy.ts), with the same
   * statement runner on it; given back when `work` settles.
   */
  withConnection<T>(work: (client: PoolClient, sql: RunSql) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

// Under load a transaction may wait for a pooled connection longer than Prisma's 2 s default.
const TRANSACTION_OPTIONS = { maxWait: 5_000, timeout: 10_000 };

/**
 * Timestamps are stored as UTC `timestamp(3)` (as Prisma writes them). node-postgres would send a
 * `Date` and read such a column in the process's local time zone; this runner does neither: a Date
 * parameter goes out as its UTC instant, a timestamp column comes back as UTC.
 */
const TIMESTAMP_WITHOUT_TIME_ZONE = 1114;
const TIMESTAMP_ARRAY = 1115;
const parseUtcTimestamp = (value: string) => new Date(`${value.replace(' ', 'T')}Z`);
const TEXT_ARRAY = 1009;
const parseTextArray = types.getTypeParser(TEXT_ARRAY as never) as (value: string) => (string | null)[];
const utcTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === TIMESTAMP_WITHOUT_TIME_ZONE) return parseUtcTimestamp;
    if (oid === TIMESTAMP_ARRAY) return (value: string) => parseTextArray(value).map((v) => (v === null ? null : parseUtcTimestamp(v)));
    return types.getTypeParser(oid as never, format as never);
  }) as typeof types.getTypeParser,
};
const toWire = (value: unknown) => (value instanceof Date ? value.toISOString() : value);

function runner(client: Pool | PoolClient): RunSql {
  return async <T>(query: Prisma.Sql) =>
    (await client.query({ text: query.text, values: query.values.map(toWire), types: utcTypes })).rows as T[];
}

/**
 * A connection taken from the pool for several statements. The pool listens for errors only on idle
 * connections, and node-postgres emits a lost connection's error on the client as well as failing its
 * query: without this listener a database restart would crash the process. A lost one is not given back.
 */
async function checkOut(pool: Pool): Promise<{ client: PoolClient; giveBack: (broken: boolean) => void }> {
  const client = await pool.connect();
  let lost = false;
  const onError = () => {
    lost = true;
  };
  client.on('error', onError);
  return {
    client,
    giveBack(broken) {
      client.removeListener('error', onError);
      client.release(broken || lost);
    },
  };
}

export function openDatabase(databaseUrl: string, poolSize = 10): Database {
  const pool = new Pool({ connectionString: databaseUrl, max: poolSize });
  // An idle connection the server dropped is discarded by the pool; the next query opens another
  // (without a listener, node-postgres would crash the process).
  pool.on('error', () => {});
  const db = new PrismaClient({ adapter: new PrismaPg(pool), transactionOptions: TRANSACTION_OPTIONS });
  return {
    db,
    sql: runner(pool),
    async transaction(work) {
      const { client, giveBack } = await checkOut(pool);
      let broken = false;
      try {
        await client.query('BEGIN');
        const result = await work(runner(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        // A connection that cannot even roll back is not given back to the pool.
        await client.query('ROLLBACK').catch(() => (broken = true));
        throw err;
      } finally {
        giveBack(broken);
      }
    },
    async withConnection(work) {
      const { client, giveBack } = await checkOut(pool);
      let broken = false;
      try {
        return await work(client, runner(client));
      } catch (err) {
        // A COPY cut short leaves the connection in an unknown state: it is not given back.
        broken = true;
        throw err;
      } finally {
        giveBack(broken);
      }
    },
    async close() {
      await db.$disconnect();
      await pool.end();
    },
  };
}

/** What the driver adapter says went wrong under a Prisma error (e.g. `ConnectionClosed`). */
export function adapterErrorKind(err: Prisma.PrismaClientKnownRequestError): string | undefined {
  return (err.meta?.driverAdapterError as { cause?: { kind?: string } } | undefined)?.cause?.kind;
}

/**
 * What a database error means for the caller, whichever driver path raised it (Prisma's client, its
 * pg adapter, or the node-postgres runner):
 * - UNAVAILABLE: PostgreSQL cannot be reached or dropped the connection — nothing was decided, retry;
 * - DATA: PostgreSQL refused the data itself (SQLSTATE class 22 data exception, class 23 integrity
 *   violation) — the same input fails the same way, retrying cannot help;
 * - OTHER: anything else.
 */
export type DatabaseErrorKind = 'UNAVAILABLE' | 'DATA' | 'OTHER';

const UNAVAILABLE_PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2028']);
const UNAVAILABLE_ADAPTER_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections']);
const UNAVAILABLE_NET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN']);
const UNAVAILABLE_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended unexpectedly|the database system is (starting up|shutting down|in recovery mode)|terminating connection due to administrator command|Can't reach database server/i;

export function databaseErrorKind(err: unknown): DatabaseErrorKind {
  for (const e of causes(err)) {
    if (e instanceof Prisma.PrismaClientInitializationError) return 'UNAVAILABLE';
    if (e instanceof Prisma.PrismaClientKnownRequestError) {
      if (UNAVAILABLE_PRISMA_CODES.has(e.code)) return 'UNAVAILABLE';
      if (UNAVAILABLE_ADAPTER_KINDS.has(adapterErrorKind(e) ?? '')) return 'UNAVAILABLE';
    }
    const code = typeof e.code === 'string' ? e.code : undefined;
    if (code && UNAVAILABLE_NET_CODES.has(code)) return 'UNAVAILABLE';
    const sqlState = sqlStateOf(e);
    if (sqlState) {
      // 08: connection exception, 57P0x: operator intervention (shutdown), 53300: too many connections.
      if (sqlState.startsWith('08') || /^57P0[1-3]$/.test(sqlState) || sqlState === '53300') return 'UNAVAILABLE';
      if (sqlState.startsWith('22') || sqlState.startsWith('23')) return 'DATA';
    }
    const messages = [e.message, (e as { originalMessage?: unknown }).originalMessage];
    if (messages.some((m) => typeof m === 'string' && UNAVAILABLE_MESSAGE.test(m))) return 'UNAVAILABLE';
  }
  return 'OTHER';
}

/** The error, its `cause` chain and the driver error Prisma wraps, each once. */
function causes(err: unknown): { code?: unknown; message?: unknown }[] {
  const found: { code?: unknown; message?: unknown }[] = [];
  const queue: unknown[] = [err];
  while (queue.length > 0 && found.length < 10) {
    const e = queue.shift();
    if (!e || typeof e !== 'object' || found.includes(e)) continue;
    found.push(e);
    queue.push((e as { cause?: unknown }).cause);
    const adapter = (e as { meta?: { driverAdapterError?: { cause?: unknown } } }).meta?.driverAdapterError;
    if (adapter) queue.push(adapter, adapter.cause);
  }
  return found;
}

/** A five-character SQLSTATE: node-postgres's `code`, or the one Prisma's adapter reports. */
function sqlStateOf(e: { code?: unknown }): string | undefined {
  const candidates = [e.code, (e as { originalCode?: unknown }).originalCode];
  return candidates.find((c): c is string => typeof c === 'string' && /^[0-9A-Z]{5}$/.test(c));
}
