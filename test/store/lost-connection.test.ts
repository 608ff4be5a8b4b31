import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { loadConfig } from '../../infra/config';
import { openDatabase, type Database, type RunSql } from '../../infra/db';
import { Prisma } from '../../generated/prisma/client';

/**
 * PostgreSQL going away under a connection that is checked out between statements (a transaction
 * waiting on its own code, a COPY) must fail that work, not the process: the postgres-outage drill
 * found a worker killed by node-postgres' unhandled `error` event.
 */
const databaseUrl = () => loadConfig({ ...process.env, NODE_ENV: 'test' }).DATABASE_URL;
let database: Database;
let admin: Client;
beforeAll(async () => {
  database = openDatabase(databaseUrl(), 2);
  admin = new Client({ connectionString: databaseUrl() });
  await admin.connect();
});
afterAll(async () => {
  await admin?.end();
  await database?.close();
});

/** Ends the server side of a connection while it sits idle in our hands, and waits for the client to hear of it. */
async function terminate(backendPid: number) {
  await admin.query('SELECT pg_terminate_backend($1)', [backendPid]);
  await sleep(300);
}

const PID = Prisma.sql`SELECT pg_backend_pid() AS pid`;
const backendPid = async (sql: RunSql) => (await sql<{ pid: number }>(PID))[0]!.pid;

it('a transaction whose connection is lost between statements fails, and the pool goes on with a new connection', async () => {
  const work = database.transaction(async (sql) => {
    await terminate(await backendPid(sql));
    return sql(PID);
  });
  await expect(work).rejects.toThrow();
  expect(await database.sql<{ pid: number }>(PID)).toHaveLength(1);
});

it('a checked-out connection lost between statements fails its work, not the process', async () => {
  const work = database.withConnection(async (client) => {
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await terminate(rows[0]!.pid);
    return client.query('SELECT 1');
  });
  await expect(work).rejects.toThrow();
  expect(await database.sql<{ pid: number }>(PID)).toHaveLength(1);
});
