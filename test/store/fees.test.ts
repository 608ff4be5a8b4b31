import fc from 'fast-check';
import { channelFee, type FeeTerms } from '../../domain/routing/fees';
import { loadConfig } from '../../infra/config';
import { openDatabase, type Database } from '../../infra/db';
import { feesOf } from '../../store/fees';

let database: Database;
beforeAll(() => {
  database = openDatabase(loadConfig({ ...process.env, NODE_ENV: 'test' }).DATABASE_URL, 2);
});
afterAll(() => database?.close());

it("computes channel fees in SQL exactly as the domain's one fee rule does, fixed fees included", async () => {
  const samples = fc.sample(fc.integer({ min: 0, max: 2_000_000_000 }), 2_000);
  const values = [0, 1, 83, 84, 250, 500, 600, 777, ...samples];
  const amounts = values.flatMap((value) => [{ currency: 'CNY', value }, { currency: 'USD', value }]);
  const terms: FeeTerms[] = [
    ...[0, 38, 55, 60, 100, 250].map((feeRateBps) => ({ feeRateBps })),
    { feeRateBps: 290, fixedFee: { currency: 'USD', value: 30 } },
  ];
  for (const t of terms) {
    expect(await feesOf(database.sql, amounts, t)).toEqual(amounts.map((a) => channelFee(a, t)));
  }
});
