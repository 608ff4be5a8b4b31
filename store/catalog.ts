import type { DeliveryMode } from '../domain/fulfillment/modes';
import { LRUCache } from 'lru-cache';
import { Prisma, type Game, type Item, type ItemPrice } from '../generated/prisma/client';
import type { Grant, RegionalPrice } from '../domain/catalog/pricing';
import type { SellableItem } from '../domain/orders/quote';
import type { ChannelPolicy } from '../domain/routing/fields';
import { decryptCredentials, encryptCredentials, type CredentialsKeyring } from '../infra/credentials';
import type { Db } from '../infra/db';
import { CONFIG_CHANGED } from './channel-accounts';
import { sql } from './sql';

/** The catalog: games (with their secrets and delivery URLs) and items with their regional prices. */

/** An item with its prices, its JSON columns typed (see `catalogItemOf`). */
export interface CatalogItem extends SellableItem {
  grants: Grant[];
  prices: RegionalPrice[];
  /** Units left to sell; null for unlimited. */
  stockAvailable: number | null;
}

/** The one place an item's row becomes a CatalogItem: its JSON columns are read here and nowhere else. */
export function catalogItemOf(row: Item & { prices: ItemPrice[] }): CatalogItem {
  return {
    sku: row.sku,
    gameId: row.gameId,
    name: row.name,
    // Written only by putItem, from a validated body.
    grants: row.grants as unknown as Grant[],
    prices: row.prices.map((p) => ({ region: p.region, currency: p.currency, amount: p.amount })),
    storeProducts: row.storeProducts === null ? null : storeProductsOf(row.storeProducts),
    stockAvailable: row.stockAvailable,
  };
}

/** The item's product id per store channel type (entries that are not a product id are ignored). */
function storeProductsOf(column: Prisma.JsonValue): Record<string, string> {
  const entries = typeof column === 'object' && column !== null && !Array.isArray(column) ? Object.entries(column) : [];
  return Object.fromEntries(entries.filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

export interface GameFields {
  name: string;
  secret: string;
  deliveryUrl: string;
  revokeUrl?: string | null;
  /** Which channel types each platform's orders may use; null: every enabled account. */
  channelPolicy?: ChannelPolicy | null;
  requireDeliveryEcho?: boolean;
  /** How the game takes deliveries and revocations (HTTP, NATS, RABBITMQ) and, over a broker, how long an attempt waits for its ack. */
  deliveryMode?: DeliveryMode;
  deliveryAckTimeoutMs?: number;
}

/** Where a game's secret is kept: sealed under the credentials keyring (or, written before that, in plaintext). */
export type SealedGameSecret = Pick<Game, 'secret' | 'secretCiphertext' | 'secretKeyId'>;

/** A game as the API uses it: its secret opened, in memory only; its channel policy typed. */
export type OpenGame = Omit<Game, keyof SealedGameSecret | 'channelPolicy'> & { secret: string; channelPolicy: ChannelPolicy | null };

/** The game's signing secret, opened (a row not yet sealed still carries it in plaintext). */
export function openGameSecret(keyring: CredentialsKeyring, row: SealedGameSecret): string {
  if (row.secretCiphertext && row.secretKeyId) return decryptCredentials(keyring, row.secretCiphertext, row.secretKeyId) as string;
  if (row.secret !== null) return row.secret;
  throw new Error('the game has no secret');
}

function sealGameSecret(keyring: CredentialsKeyring, secret: string): SealedGameSecret {
  const { ciphertext, keyId } = encryptCredentials(keyring, secret);
  return { secret: null, secretCiphertext: ciphertext, secretKeyId: keyId };
}

function openGame(keyring: CredentialsKeyring, { secret: _secret, secretCiphertext, secretKeyId, ...game }: Game): OpenGame {
  return {
    ...game,
    // Written only by putGame, from a validated body.
    channelPolicy: game.channelPolicy as ChannelPolicy | null,
    secret: openGameSecret(keyring, { secret: _secret, secretCiphertext, secretKeyId }),
  };
}

/**
 * Seals the secrets of games written before secrets were sealed; idempotent, and a row changed
 * meanwhile by an admin write is left to that write.
 */
export async function sealLegacyGameSecrets(db: Db, keyring: CredentialsKeyring): Promise<number> {
  const legacy = await db.game.findMany({ where: { secret: { not: null } }, select: { id: true, secret: true } });
  for (const { id, secret } of legacy) {
    await db.game.updateMany({ where: { id, secret }, data: sealGameSecret(keyring, secret!) });
  }
  return legacy.length;
}

/** What the audit keeps of a game: never its secret, only whether this change replaced it. */
const gameAuditView = (game: Game | null) =>
  game && {
    name: game.name,
    deliveryUrl: game.deliveryUrl,
    revokeUrl: game.revokeUrl,
    channelPolicy: game.channelPolicy,
    requireDeliveryEcho: game.requireDeliveryEcho,
    deliveryMode: game.deliveryMode,
    deliveryAckTimeoutMs: game.deliveryAckTimeoutMs,
  };

/**
 * Creates or changes a game, audits the change (who, before, after) and tells every process (its
 * channel policy routes the next orders), in one transaction.
 */
export function putGame(
  db: Db,
  keyring: CredentialsKeyring,
  gameId: string,
  { channelPolicy, secret, ...fields }: GameFields,
  actor = 'system',
): Promise<OpenGame> {
  const data = {
    ...fields,
    ...sealGameSecret(keyring, secret),
    ...(channelPolicy !== undefined && { channelPolicy: channelPolicy === null ? Prisma.DbNull : (channelPolicy as Prisma.InputJsonValue) }),
  };
  return db.$transaction(async (tx) => {
    const before = await tx.game.findUnique({ where: { id: gameId } });
    const after = await tx.game.upsert({ where: { id: gameId }, create: { id: gameId, ...data }, update: data });
    await tx.configAudit.create({
      data: {
        entity: 'game',
        entityId: gameId,
        actor,
        before: (gameAuditView(before) ?? undefined) as Prisma.InputJsonValue | undefined,
        after: { ...gameAuditView(after), secretChanged: !before || openGameSecret(keyring, before) !== secret } as Prisma.InputJsonValue,
      },
    });
    await tx.$executeRaw(sql`SELECT pg_notify(${CONFIG_CHANGED}, 'games')`);
    return openGame(keyring, after);
  });
}

export interface ItemFields {
  gameId: string;
  name: string;
  grants: Grant[];
  prices: RegionalPrice[];
  /** Units left to sell; null for unlimited, undefined to keep what is there. */
  stock?: number | null;
  /** The item's product in each store channel, replaced as a whole when given. */
  storeProducts?: Partial<Record<'appstore' | 'googleplay', string>>;
}

export type ItemUpsert =
  | { outcome: 'SAVED'; item: CatalogItem }
  | { outcome: 'GAME_NOT_FOUND' }
  | { outcome: 'SKU_TAKEN' };

/** Creates or replaces an item; its prices are replaced as a whole. */
export async function putItem(db: Db, sku: string, body: ItemFields): Promise<ItemUpsert> {
  const game = await db.game.findUnique({ where: { id: body.gameId }, select: { id: true } });
  if (!game) return { outcome: 'GAME_NOT_FOUND' };
  const owner = await db.item.findUnique({ where: { sku }, select: { gameId: true } });
  if (owner && owner.gameId !== body.gameId) return { outcome: 'SKU_TAKEN' };
  const fields = {
    gameId: body.gameId,
    name: body.name,
    grants: body.grants as unknown as Prisma.InputJsonValue,
    ...(body.stock !== undefined ? { stockAvailable: body.stock } : {}),
    ...(body.storeProducts !== undefined ? { storeProducts: body.storeProducts as Prisma.InputJsonValue } : {}),
  };
  const item = await db.$transaction(async (tx) => {
    await tx.item.upsert({ where: { sku }, create: { sku, ...fields }, update: fields });
    await tx.itemPrice.deleteMany({ where: { sku } });
    await tx.itemPrice.createMany({ data: body.prices.map((p) => ({ sku, ...p })) });
    return tx.item.findUniqueOrThrow({ where: { sku }, include: { prices: { orderBy: { region: 'asc' } } } });
  });
  return { outcome: 'SAVED', item: catalogItemOf(item) };
}

interface Found<T> {
  value: T | null;
}

/**
 * A change dropping the entry aborts a read in flight for it; that read may have seen the row
 * before the change, so the caller reads it afresh instead of failing. Callers that joined a shared
 * read are not told it was aborted (lru-cache flags only the caller that started it), so any failed
 * cached read is read once more on its own: its own failure (the database is down) is the answer.
 */
async function cached<T>(cache: LRUCache<string, Found<T>>, key: string, load: (key: string) => Promise<T | null>): Promise<T | null> {
  try {
    return (await cache.fetch(key))?.value ?? null;
  } catch {
    return load(key);
  }
}

/**
 * Games and items as the order path reads them, kept for a few seconds: every create would
 * otherwise read the same rows three times. Writes through `changed` drop the entry at once; other
 * processes see a change within `ttlMs` (0 turns the cache off).
 */
export class CatalogReader {
  private readonly games?: LRUCache<string, Found<OpenGame>>;
  private readonly items?: LRUCache<string, Found<CatalogItem>>;
  private readonly loadGame: (id: string) => Promise<OpenGame | null>;
  private readonly loadItem: (sku: string) => Promise<CatalogItem | null>;

  constructor(db: Db, keyring: CredentialsKeyring, ttlMs: number) {
    this.loadGame = async (id) => {
      const game = await db.game.findUnique({ where: { id } });
      return game && openGame(keyring, game);
    };
    this.loadItem = async (sku) => {
      const row = await db.item.findUnique({ where: { sku }, include: { prices: true } });
      return row && catalogItemOf(row);
    };
    if (ttlMs === 0) return;
    // fetchMethod also makes concurrent misses for one key share a single query.
    this.games = new LRUCache({ max: 1_000, ttl: ttlMs, fetchMethod: async (id) => ({ value: await this.loadGame(id) }) });
    this.items = new LRUCache({ max: 10_000, ttl: ttlMs, fetchMethod: async (sku) => ({ value: await this.loadItem(sku) }) });
  }

  game(id: string): Promise<OpenGame | null> {
    return this.games ? cached(this.games, id, this.loadGame) : this.loadGame(id);
  }

  item(sku: string): Promise<CatalogItem | null> {
    return this.items ? cached(this.items, sku, this.loadItem) : this.loadItem(sku);
  }

  gameChanged(id: string) {
    this.games?.delete(id);
  }

  /** Another process changed a game (the notification does not say which). */
  gamesChanged() {
    this.games?.clear();
  }

  itemChanged(sku: string) {
    this.items?.delete(sku);
  }
}
