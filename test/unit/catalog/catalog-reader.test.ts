import type { Db } from '../../../infra/db';
import { parseKeyring } from '../../../infra/credentials';
import { CatalogReader } from '../../../store/catalog';

const keyring = parseKeyring(`test:${Buffer.alloc(32, 7).toString('base64')}`, undefined);

/** The order path's cache of games: a change that lands while a read is in flight. */
function database() {
  let name = 'before';
  const pending: (() => void)[] = [];
  const db = {
    game: {
      // Each read sees the row as it is when the read started and answers when the test says.
      findUnique: ({ where }: { where: { id: string } }) => {
        const seen = name;
        return new Promise((resolve) => pending.push(() => resolve({ id: where.id, name: seen, secret: 'plain-secret-of-an-unsealed-row', secretCiphertext: null, secretKeyId: null })));
      },
    },
  };
  return {
    db: db as unknown as Db,
    rename: (to: string) => (name = to),
    answerAll: () => pending.splice(0).forEach((answer) => answer()),
    reads: () => pending.length,
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('the catalog reader', () => {
  it('answers a read in flight when another process changes the games, with the row after the change', async () => {
    const data = database();
    const reader = new CatalogReader(data.db, keyring, 60_000);
    const read = reader.game('g1');
    await settle();
    data.rename('after');
    reader.gamesChanged();
    await settle();
    data.answerAll(); // the aborted read answers, then the fresh one is started
    await settle();
    data.answerAll();
    await expect(read).resolves.toMatchObject({ id: 'g1', name: 'after' });
  });

  it('answers every reader that joined a shared read in flight when the games change (found by the PostgreSQL outage drill: a 500)', async () => {
    const data = database();
    const reader = new CatalogReader(data.db, keyring, 60_000);
    const reads = Promise.all([reader.game('g1'), reader.game('g1'), reader.game('g1')]);
    await settle();
    expect(data.reads()).toBe(1);
    data.rename('after');
    reader.gamesChanged();
    await settle();
    data.answerAll();
    await settle();
    data.answerAll();
    await expect(reads).resolves.toMatchObject([{ name: 'after' }, { name: 'after' }, { name: 'after' }]);
  });

  it('shares one read between concurrent misses and keeps the answer', async () => {
    const data = database();
    const reader = new CatalogReader(data.db, keyring, 60_000);
    const both = Promise.all([reader.game('g1'), reader.game('g1')]);
    await settle();
    expect(data.reads()).toBe(1);
    data.answerAll();
    expect(await both).toMatchObject([{ id: 'g1', name: 'before' }, { id: 'g1', name: 'before' }]);
    await expect(reader.game('g1')).resolves.toMatchObject({ name: 'before' });
    expect(data.reads()).toBe(0);
  });
});
