import { LRUCache } from 'lru-cache';
import type { Game, Item, ItemPrice } from '../generated/prisma/client';
import type { Db } from '../infra/db';

export type CatalogueItem = Item & { prices: ItemPrice[] };

interface Found<T> {
  value: T | null;
}

/**
 * Games and items as the order path reads them, kept for a few seconds: every create would
 * otherwise read the same rows three times. Admin writes in this process drop the entry at once;
 * other API processes see a change within `ttlMs` (0 turns the cache off).
 */
export class Catalogue {
  private readonly games: LRUCache<string, Found<Game>>;
  private readonly items: LRUCache<string, Found<CatalogueItem>>;

  constructor(
    private readonly db: Db,
    private readonly ttlMs: number,
  ) {
    // fetchMethod also makes concurrent misses for one key share a single query.
    this.games = new LRUCache({
      max: 1_000,
      ttl: Math.max(ttlMs, 1),
      fetchMethod: async (id) => ({ value: await db.game.findUnique({ where: { id } }) }),
    });
    this.items = new LRUCache({
      max: 10_000,
      ttl: Math.max(ttlMs, 1),
      fetchMethod: async (sku) => ({ value: await db.item.findUnique({ where: { sku }, include: { prices: true } }) }),
    });
  }

  async game(id: string): Promise<Game | null> {
    if (this.ttlMs === 0) return this.db.game.findUnique({ where: { id } });
    return (await this.games.fetch(id))?.value ?? null;
  }

  async item(sku: string): Promise<CatalogueItem | null> {
    if (this.ttlMs === 0) return this.db.item.findUnique({ where: { sku }, include: { prices: true } });
    return (await this.items.fetch(sku))?.value ?? null;
  }

  gameChanged(id: string) {
    this.games.delete(id);
  }

  itemChanged(sku: string) {
    this.items.delete(sku);
  }
}
