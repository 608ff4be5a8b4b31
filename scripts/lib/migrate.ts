import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from 'pg';

type Log = (msg: string) => void;

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const MIGRATIONS_DIR = path.join(REPO_ROOT, 'prisma', 'migrations');
/** The key `prisma migrate` itself locks on, so our runner and Prisma's exclude each other. */
const PRISMA_MIGRATE_LOCK_KEY = 72707369;

/** Exactly Prisma's bookkeeping table, so `prisma migrate` can take over a database we migrated. */
const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export interface MigrationFile {
  name: string;
  sql: Buffer;
  /** What Prisma records: the SHA-256 of the file's bytes, hex. */
  checksum: string;
}

/** The migrations in the order Prisma applies them: by directory name. */
export async function readMigrations(): Promise<MigrationFile[]> {
  const entries = await readdir(MIGRATIONS_DIR, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory() && existsSync(path.join(MIGRATIONS_DIR, e.name, 'migration.sql')))
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(MIGRATIONS_DIR, name, 'migration.sql'));
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

/** Creates the database if needed, then brings it up to date with prisma/migrations. */
export async function migrate(databaseUrl: string, opts: { log?: Log } = {}): Promise<{ applied: string[] }> {
  const log = opts.log ?? (() => undefined);
  await ensureDatabase(databaseUrl, log);
  const engine = await findSchemaEngine();
  if (engine) {
    log(`applying migrations with prisma migrate deploy (schema engine ${engine})`);
    return migrateWithPrisma(databaseUrl, engine, log);
  }
  return migrateWithPg(databaseUrl, log);
}

/** Runs `fn` on the server's `postgres` maintenance database, for creating or dropping `databaseUrl`'s database. */
export async function withMaintenanceDb<T>(databaseUrl: string, fn: (admin: Client, name: string) => Promise<T>): Promise<T> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const admin = new Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    return await fn(admin, name);
  } finally {
    await admin.end();
  }
}

async function ensureDatabase(databaseUrl: string, log: Log): Promise<void> {
  await withMaintenanceDb(databaseUrl, async (admin, name) => {
    try {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (rowCount) return;
      await admin.query(`CREATE DATABASE ${quoteIdent(name)}`);
      log(`created database ${name}`);
    } catch (err) {
      // A concurrent migrate() may create it between our check and CREATE: 42P04 or, racing, 23505.
      const code = (err as { code?: string }).code;
      if (code !== '42P04' && code !== '23505') throw err;
    }
  });
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A real schema engine is only usable if it answers `--version` as one (e.g. not /bin/true). */
async function findSchemaEngine(): Promise<string | undefined> {
  const enginesDir = path.join(REPO_ROOT, 'node_modules', '@prisma', 'engines');
  const bundled = (await readdir(enginesDir).catch(() => [] as string[]))
    .filter((n) => n.startsWith('schema-engine'))
    .map((n) => path.join(enginesDir, n));
  const candidates = [process.env.PRISMA_SCHEMA_ENGINE_BINARY, ...bundled].filter((c): c is string => Boolean(c));
  for (const candidate of candidates) {
    const { code, output } = await capture(candidate, ['--version']);
    if (code === 0 && output.includes('schema-engine')) return candidate;
  }
  return undefined;
}

function capture(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: REPO_ROOT, env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', (err) => resolve({ code: -1, output: err.message }));
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

async function migrateWithPrisma(databaseUrl: string, engine: string, log: Log): Promise<{ applied: string[] }> {
  const migrations = await readMigrations();
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    // `migrate deploy` does not compare checksums, so edited migrations are refused here first.
    const before = await recordedMigrations(client);
    verifyRecorded(before, migrations, log);
    const prismaCli = path.join(REPO_ROOT, 'node_modules', 'prisma', 'build', 'index.js');
    const { code, output } = await capture(process.execPath, [prismaCli, 'migrate', 'deploy'], {
      ...process.env,
      DATABASE_URL: databaseUrl,
      PRISMA_SCHEMA_ENGINE_BINARY: engine,
    });
    if (code !== 0) throw new Error(`prisma migrate deploy failed (exit ${code}):\n${output}`);
    // Prisma's output is for humans; what it applied is read back from its own table instead, which
    // also catches an engine that exits 0 without doing the work.
    const after = await recordedMigrations(client);
    const finished = new Set(after.filter((r) => r.finished_at).map((r) => r.migration_name));
    const missing = migrations.filter((m) => !finished.has(m.name)).map((m) => m.name);
    if (missing.length) throw new Error(`prisma migrate deploy left ${missing.join(', ')} unapplied:\n${output}`);
    const done = new Set(before.map((r) => r.migration_name));
    return { applied: [...finished].filter((name) => !done.has(name)).sort() };
  } finally {
    await client.end();
  }
}

interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
}

async function recordedMigrations(client: Client): Promise<MigrationRow[]> {
  try {
    const { rows } = await client.query<MigrationRow>(
      'SELECT migration_name, checksum, finished_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL ORDER BY migration_name',
    );
    return rows;
  } catch (err) {
    if ((err as { code?: string }).code === '42P01') return []; // no table yet: nothing applied
    throw err;
  }
}

/** Refuses a database whose history does not match the files: a failed or an edited migration. */
function verifyRecorded(rows: MigrationRow[], migrations: MigrationFile[], log: Log): void {
  const local = new Map(migrations.map((m) => [m.name, m]));
  for (const row of rows) {
    if (!row.finished_at) {
      throw new Error(`migration ${row.migration_name} started but never finished; resolve it before migrating`);
    }
    const file = local.get(row.migration_name);
    if (!file) {
      log(`warning: applied migration ${row.migration_name} is not in ${MIGRATIONS_DIR}`);
    } else if (file.checksum !== row.checksum) {
      throw new Error(
        `migration ${row.migration_name} was edited after it was applied (checksum ${row.checksum} != ${file.checksum})`,
      );
    }
  }
}

async function migrateWithPg(databaseUrl: string, log: Log): Promise<{ applied: string[] }> {
  const migrations = await readMigrations();
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    // Session lock: concurrent callers wait here, then find the work already recorded.
    await client.query('SELECT pg_advisory_lock($1)', [PRISMA_MIGRATE_LOCK_KEY]);
    await client.query(CREATE_MIGRATIONS_TABLE);
    const rows = await recordedMigrations(client);
    verifyRecorded(rows, migrations, log);
    const done = new Set(rows.map((r) => r.migration_name));

    const applied: string[] = [];
    for (const m of migrations.filter((pending) => !done.has(pending.name))) {
      log(`applying migration ${m.name}`);
      // Schema change and its record commit together, so a failure leaves nothing half-applied.
      await client.query('BEGIN');
      try {
        await client.query(m.sql.toString('utf8'));
        await client.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, started_at, applied_steps_count)
           VALUES ($1, $2, clock_timestamp(), $3, now(), 1)`,
          [randomUUID(), m.checksum, m.name],
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${m.name} failed: ${(err as Error).message}`);
      }
      applied.push(m.name);
    }
    return { applied };
  } finally {
    // Closing the session releases the advisory lock even if the unlock is never reached.
    await client.end();
  }
}
