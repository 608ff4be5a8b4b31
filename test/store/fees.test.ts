import fc from 'fast-check';
import { expectedFee } from '../../domain/reconciliation/fees';
import { loadConfig } from '../../infra/config';
import { openDatabase, type Database } from '../../infra/db';
import { feesAtRate } from '../../store/fees';

let database: Database;
beforeAll(() => {
  database = openDatabase(loadConfig({ ...process.env, NODE_ENV: 'test' }).DATABASE_URL, 2);
});
afterAll(() => database?.close());

it("computes statement fees in SQL exactly as the domain's rule does", async () => {
  const samples = fc.sample(fc.integer({ min: 0, max: 2_000_000_000 }), 2_000);
  for (const rate of [0, 38, 60, 100, 250]) {
    const amounts = [0, 1, 83, 84, 250, 500, 600, 777, ...samples];
    expect(await feesAtRate(database.sql, amounts, rate)).toEqual(amounts.map((a) => expectedFee(a, rate)));
  }
});
