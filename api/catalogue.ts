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
  private readonly games?: LRUCache<string, Found<Game>>;
  private readonly items?: LRUCache<string, Found<CatalogueItem>>;
  private readonly loadGame: (id: string) => Promise<Game | null>;
  private readonly loadItem: (sku: string) => Promise<CatalogueItem | null>;

  constructor(db: Db, ttlMs: number) {
    this.loadGame = (id) => db.game.findUnique({ where: { id } });
    this.loadItem = (sku) => db.item.findUnique({ where: { sku }, include: { prices: true } });
    if (ttlMs === 0) return;
    // fetchMethod also makes concurrent misses for one key share a single query.
    this.games = new LRUCache({ max: 1_000, ttl: ttlMs, fetchMethod: async (id) => ({ value: await this.loadGame(id) }) });
    this.items = new LRUCache({ max: 10_000, ttl: ttlMs, fetchMethod: async (sku) => ({ value: await this.loadItem(sku) }) });
  }

  async game(id: string): Promise<Game | null> {
    return this.games ? ((await this.games.fetch(id))?.value ?? null) : this.loadGame(id);
  }

  async item(sku: string): Promise<CatalogueItem | null> {
    return this.items ? ((await this.items.fetch(sku))?.value ?? null) : this.loadItem(sku);
  }

  gameChanged(id: string) {
    this.games?.delete(id);
  }

  itemChanged(sku: string) {
    this.items?.delete(sku);
  }
}
