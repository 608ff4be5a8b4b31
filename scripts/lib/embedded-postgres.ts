import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/**
 * PostgreSQL without installing PostgreSQL, for `npm run dev`: PGlite (PostgreSQL compiled to WASM)
 * persisted in a folder and served over the wire protocol, so the migration runner, the worker and
 * the API connect with an ordinary postgresql:// URL.
 *
 * PGlite is ONE database session: the socket server multiplexes connections onto it and, while one
 * connection has a transaction open, holds back every other connection's statements. Clients must
 * therefore never wait for a second connection inside a transaction; one connection per process
 * (DATABASE_POOL_SIZE=1) rules that out within a process.
 */
export interface EmbeddedPostgres {
  /** postgresql:// URL of the served database. */
  url: string;
  /** Closes the connections and the server, then PGlite, which leaves the data folder consistent. */
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  host?: string;
  /** Connections served at once; the whole dev system needs about five. */
  maxConnections?: number;
}

/** PGlite serves a single database, whatever name a client asks for; `postgres` is its own name. */
const DATABASE_NAME = 'postgres';

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const host = opts.host ?? '127.0.0.1';
  await mkdir(opts.dataDir, { recursive: true });
  const db = await PGlite.create(opts.dataDir);
  const server = new PGLiteSocketServer({
    db: withWholeExtendedQueries(db),
    host,
    port: opts.port,
    maxConnections: opts.maxConnections ?? 20,
  });
  try {
    await server.start();
  } catch (err) {
    await db.close();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`cannot serve the embedded PostgreSQL: port ${opts.port} on ${host} is already in use`);
    }
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    url: `postgresql://postgres@${host}:${opts.port}/${DATABASE_NAME}`,
    stop: () =>
      (stopping ??= (async () => {
        await server.stop();
        await db.close();
      })()),
  };
}

/** Frontend messages that leave an extended-query cycle open: Parse, Bind, Describe, Execute, Close, Flush. */
const CYCLE_CONTINUES = new Set(['P', 'B', 'D', 'E', 'C', 'H']);
/** Sync and a simple Query end one with ReadyForQuery. */
const CYCLE_ENDS = new Set(['S', 'Q']);

/**
 * The socket server runs one protocol message at a time from whichever connection is next, and keeps
 * serving one connection only while PGlite is inside a transaction block. An extended query
 * (Parse … Sync) is not one, so a client whose messages arrive in two reads could see another
 * connection's Parse replace its unnamed statement, and its Bind run that statement with its own
 * parameters (reproduced with node-postgres). This view reports an open cycle as a transaction, so the
 * server lets the connection that opened it finish it first.
 */
function withWholeExtendedQueries(db: PGlite): PGlite {
  let cycleOpen = false;
  const execProtocolRawStream: PGlite['execProtocolRawStream'] = async (message, options) => {
    const type = String.fromCharCode(message[0] ?? 0);
    try {
      await db.execProtocolRawStream(message, options);
    } finally {
      if (CYCLE_CONTINUES.has(type)) cycleOpen = true;
      else if (CYCLE_ENDS.has(type)) cycleOpen = false;
    }
  };
  // The server rolls back with exec() when a connection leaves mid-transaction; a simple query also ends a cycle.
  const exec: PGlite['exec'] = async (...args) => {
    try {
      return await db.exec(...args);
    } finally {
      cycleOpen = false;
    }
  };
  const isInTransaction = () => cycleOpen || db.isInTransaction();
  const overrides = new Map<PropertyKey, unknown>([
    ['execProtocolRawStream', execProtocolRawStream],
    ['exec', exec],
    ['isInTransaction', isInTransaction],
  ]);
  return new Proxy(db, {
    get(target, property) {
      if (overrides.has(property)) return overrides.get(property);
      // PGlite keeps its state in private fields, so its methods must run on the instance itself.
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
