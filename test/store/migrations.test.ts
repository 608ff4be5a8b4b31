/**
 * Proves prisma/schema.prisma and prisma/migrations describe the same database: the migrated test
 * database (see global-setup) must contain exactly the tables, columns, keys, indexes and foreign
 * keys of the schema. Without this, a schema edit without a migration is only found in production.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { migrate, readMigrations } from '../../scripts/lib/migrate';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: 'scalar' | 'enum' | 'object' | 'unsupported';
  type: string;
  isList: boolean;
  isRequired: boolean;
  nativeType?: [string, string[]] | null;
  relationFromFields?: string[];
  relationToFields?: string[];
  relationOnDelete?: string;
}
interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: DmmfField[];
}
interface DmmfIndex {
  model: string;
  type: 'id' | 'unique' | 'normal' | 'fulltext';
  fields: { name: string }[];
}
interface Datamodel {
  models: DmmfModel[];
  enums: { name: string; dbName?: string | null }[];
  indexes: DmmfIndex[];
}

/**
 * Prisma 7's generated `prisma-client` only embeds a trimmed data model (no nullability, no keys) and
 * @prisma/internals is not installed, so the full DMMF is taken from Prisma itself: a throwaway
 * generator (JSON-RPC over stdin/stderr) receives it during `prisma generate` and writes it out.
 */
const DUMP_GENERATOR = `
const fs = require('fs');
const path = require('path');
require('readline').createInterface({ input: process.stdin }).on('line', (line) => {
  const req = JSON.parse(line);
  let result = null;
  if (req.method === 'getManifest') result = { manifest: { prettyName: 'DMMF dump', requiresEngines: [] } };
  if (req.method === 'generate') {
    fs.writeFileSync(path.join(req.params.generator.output.value, 'datamodel.json'), JSON.stringify(req.params.dmmf.datamodel));
  }
  process.stderr.write(JSON.stringify({ jsonrpc: '2.0', id: req.id, result }) + '\\n');
});
`;

async function loadDatamodel(): Promise<Datamodel> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'dmmf-'));
  try {
    const generator = path.join(dir, 'dump-dmmf.js');
    await writeFile(generator, DUMP_GENERATOR);
    // Only our generator runs, so the real client in generated/ is left alone.
    const original = await readFile(path.join(REPO_ROOT, 'prisma', 'schema.prisma'), 'utf8');
    const schema = `${original.replace(/^generator\s+\w+\s*\{[^}]*\}/gm, '')}
generator dmmf {
  provider = ${JSON.stringify(`node ${generator}`)}
  output   = ${JSON.stringify(dir)}
}
`;
    await writeFile(path.join(dir, 'schema.prisma'), schema);
    await promisify(execFile)(
      process.execPath,
      [path.join(REPO_ROOT, 'node_modules', 'prisma', 'build', 'index.js'), 'generate', '--schema', path.join(dir, 'schema.prisma')],
      // generate needs no schema engine; the placeholder stops the CLI from trying to download one.
      { cwd: REPO_ROOT, env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? '/bin/true' } },
    );
    return JSON.parse(await readFile(path.join(dir, 'datamodel.json'), 'utf8')) as Datamodel;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Native types whose Postgres udt_name is not simply their lower-cased name. */
const NATIVE_UDT: Record<string, string> = {
  Integer: 'int4',
  SmallInt: 'int2',
  BigInt: 'int8',
  DoublePrecision: 'float8',
  Real: 'float4',
  Decimal: 'numeric',
  Boolean: 'bool',
  ByteA: 'bytea',
  Char: 'bpchar',
};
/** What Prisma creates on Postgres for a scalar without @db.* */
const DEFAULT_UDT: Record<string, string> = {
  String: 'text',
  Int: 'int4',
  BigInt: 'int8',
  Float: 'float8',
  Decimal: 'numeric',
  Boolean: 'bool',
  DateTime: 'timestamp',
  Json: 'jsonb',
  Bytes: 'bytea',
};

const tableOf = (model: DmmfModel) => model.dbName ?? model.name;
const columnOf = (model: DmmfModel, fieldName: string) => {
  const field = model.fields.find((f) => f.name === fieldName)!;
  return field.dbName ?? field.name;
};
const isColumn = (f: DmmfField) => f.kind === 'scalar' || f.kind === 'enum';

function expectedColumns(dm: Datamodel): string[] {
  return dm.models.flatMap((model) =>
    model.fields.filter(isColumn).map((f) => {
      let udt: string;
      if (f.kind === 'enum') udt = dm.enums.find((e) => e.name === f.type)?.dbName ?? f.type;
      else if (f.nativeType) udt = NATIVE_UDT[f.nativeType[0]] ?? f.nativeType[0].toLowerCase();
      else udt = DEFAULT_UDT[f.type] ?? `unknown scalar ${f.type}`;
      // Prisma creates scalar lists as nullable arrays.
      const nullable = f.isList || !f.isRequired;
      return `${tableOf(model)}.${f.dbName ?? f.name} ${f.isList ? '_' : ''}${udt} ${nullable ? 'NULL' : 'NOT NULL'}`;
    }),
  );
}

function expectedIndexes(dm: Datamodel): string[] {
  return dm.indexes.map((index) => {
    const model = dm.models.find((m) => m.name === index.model)!;
    const kind = { id: 'primary', unique: 'unique', normal: 'index', fulltext: 'fulltext' }[index.type];
    return `${tableOf(model)} ${kind} (${index.fields.map((f) => columnOf(model, f.name)).join(', ')})`;
  });
}

function expectedForeignKeys(dm: Datamodel): string[] {
  return dm.models.flatMap((model) =>
    model.fields
      .filter((f) => f.kind === 'object' && f.relationFromFields?.length)
      .map((f) => {
        const target = dm.models.find((m) => m.name === f.type)!;
        // Prisma's defaults when the relation does not say.
        const onDelete = f.relationOnDelete ?? (f.isRequired ? 'Restrict' : 'SetNull');
        const from = f.relationFromFields!.map((n) => columnOf(model, n)).join(', ');
        const to = f.relationToFields!.map((n) => columnOf(target, n)).join(', ');
        return `${tableOf(model)} (${from}) -> ${tableOf(target)} (${to}) on delete ${onDelete}`;
      }),
  );
}

const sorted = (values: string[]) => [...values].sort();

describe('migrations match prisma/schema.prisma', () => {
  const databaseUrl = process.env.DATABASE_URL!;
  let dm: Datamodel;
  let db: Client;

  beforeAll(async () => {
    dm = await loadDatamodel();
    db = new Client({ connectionString: databaseUrl });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
  });

  test('the migrated database has exactly the schema tables', async () => {
    const { rows } = await db.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables
       WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> '_prisma_migrations'`,
    );
    expect(sorted(rows.map((r) => r.table_name))).toEqual(sorted(dm.models.map(tableOf)));
  });

  test('every column exists with the schema type and nullability, and there are no others', async () => {
    const { rows } = await db.query<{ column: string }>(
      `SELECT table_name || '.' || column_name || ' ' || udt_name || ' ' ||
              CASE is_nullable WHEN 'YES' THEN 'NULL' ELSE 'NOT NULL' END AS column
       FROM information_schema.columns
       WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'`,
    );
    expect(sorted(rows.map((r) => r.column))).toEqual(sorted(expectedColumns(dm)));
  });

  test('every @id, @unique and @@index exists on the same columns, and there are no others', async () => {
    const { rows } = await db.query<{ index: string }>(
      `SELECT t.relname || ' ' ||
              CASE WHEN ix.indisprimary THEN 'primary' WHEN ix.indisunique THEN 'unique' ELSE 'index' END || ' (' ||
              (SELECT string_agg(a.attname, ', ' ORDER BY k.ord)
               FROM unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum) || ')' AS index
       FROM pg_index ix
       JOIN pg_class t ON t.oid = ix.indrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
       WHERE n.nspname = 'public' AND t.relname <> '_prisma_migrations'`,
    );
    expect(sorted(rows.map((r) => r.index))).toEqual(sorted(expectedIndexes(dm)));
  });

  test('every relation has its foreign key with the schema referential action', async () => {
    const { rows } = await db.query<{ fk: string }>(
      `SELECT c.conrelid::regclass::text || ' (' ||
              (SELECT string_agg(a.attname, ', ' ORDER BY k.ord) FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum) || ') -> ' ||
              c.confrelid::regclass::text || ' (' ||
              (SELECT string_agg(a.attname, ', ' ORDER BY k.ord) FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum) || ') on delete ' ||
              CASE c.confdeltype WHEN 'a' THEN 'NoAction' WHEN 'r' THEN 'Restrict' WHEN 'c' THEN 'Cascade'
                                 WHEN 'n' THEN 'SetNull' WHEN 'd' THEN 'SetDefault' END AS fk
       FROM pg_constraint c
       JOIN pg_namespace n ON n.oid = c.connamespace
       WHERE c.contype = 'f' AND n.nspname = 'public'`,
    );
    expect(sorted(rows.map((r) => r.fk))).toEqual(sorted(expectedForeignKeys(dm)));
  });

  test('_prisma_migrations records every migration, finished, with its checksum', async () => {
    const { rows } = await db.query<{ migration_name: string; checksum: string; applied_steps_count: number }>(
      `SELECT migration_name, checksum, applied_steps_count FROM "_prisma_migrations"
       WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name`,
    );
    const files = await readMigrations();
    expect(files.length).toBeGreaterThan(0);
    expect(rows.map((r) => [r.migration_name, r.checksum])).toEqual(files.map((m) => [m.name, m.checksum]));
    for (const row of rows) expect(row.applied_steps_count).toBeGreaterThan(0);
  });

  test('migrating again applies nothing and changes nothing', async () => {
    const before = await db.query('SELECT id, checksum, finished_at FROM "_prisma_migrations" ORDER BY id');
    await expect(migrate(databaseUrl)).resolves.toEqual({ applied: [] });
    const after = await db.query('SELECT id, checksum, finished_at FROM "_prisma_migrations" ORDER BY id');
    expect(after.rows).toEqual(before.rows);
  });
});
