import type { ConsumptionSettings } from '../domain/stores/consumption';
import type { DeliveryMode } from '../domain/fulfillment/modes';
import { LRUCache } from 'lru-cache';
import { Prisma, type Game, type Item, type ItemPrice } from '../generated/prisma/client';
import type { FirstPurchaseBonus, ItemKind, ItemLimits, MonthlyCardTerms, SaleWindow } from '../domain/catalog/items';
import type { Grant, RegionalPrice } from '../domain/catalog/pricing';
import type { SellableItem } from '../domain/orders/quote';
import { offerChannelType, storefrontOffers, type OfferQuery, type StorefrontOffers } from '../domain/catalog/storefront';
import type { ChannelPolicy } from '../domain/routing/fields';
import { decryptCredentials, encryptCredentials, type CredentialsKeyring } from '../infra/credentials';
import type { Db } from '../infra/db';
import { CONFIG_CHANGED } from './channel-accounts';
import { sql } from './sql';
import { auditColumns, type AuditActor } from './audit';

/** The catalog: games (with their secrets and delivery URLs) and items with their regional prices. */

/** An item with its prices, its JSON columns typed (see `catalogItemOf`). */
export interface CatalogItem extends SellableItem {
  grants: Grant[];
  prices: RegionalPrice[];
  /** A monthly card's terms; null for other kinds. */
  monthlyCard: MonthlyCardTerms | null;
  firstPurchaseBonus: FirstPurchaseBonus | null;
  tags: string[];
}

const iso = (d: Date | null) => d?.toISOString();

/** The one place an item's row becomes a CatalogItem: its JSON columns are read here and nowhere else. */
export function catalogItemOf(row: Item & { prices: ItemPrice[] }): CatalogItem {
  return {
    sku: row.sku,
    gameId: row.gameId,
    name: row.name,
    // Written only by putItem, from a validated body.
    grants: row.grants as unknown as Grant[],
    prices: row.prices.map((p) => ({
      region: p.region,
      currency: p.currency,
      amount: p.amount,
      ...(p.channel !== null && { channel: p.channel }),
      ...(p.startsAt && { startsAt: iso(p.startsAt) }),
      ...(p.endsAt && { endsAt: iso(p.endsAt) }),
    })),
    storeProducts: row.storeProducts === null ? null : storeProductsOf(row.storeProducts),
    stockAvailable: row.stockAvailable,
    // Written only by putItem, from a validated body.
    kind: row.kind as ItemKind,
    monthlyCard: row.monthlyCard as unknown as MonthlyCardTerms | null,
    saleWindow: row.saleStartsAt || row.saleEndsAt ? { startsAt: iso(row.saleStartsAt), endsAt: iso(row.saleEndsAt) } : null,
    retiredAt: iso(row.retiredAt) ?? null,
    limits: row.limits as ItemLimits | null,
    maxPerOrder: row.maxPerOrder,
    firstPurchaseBonus: row.firstPurchaseBonus as unknown as FirstPurchaseBonus | null,
    tags: row.tags as string[],
  };
}

/** Prices in a stable order: region, channel type (plain first), start. */
const PRICE_ORDER = [{ region: 'asc' }, { channel: { sort: 'asc', nulls: 'first' } }, { startsAt: { sort: 'asc', nulls: 'first' } }] as const;

/** The item's product id per store channel type (entries that are not a product id are ignored). */
function storeProductsOf(column: Prisma.JsonValue): Record<string, string> {
  const entries = typeof column === 'object' && column !== null && !Array.isArray(column) ? Object.entries(column) : [];
  return Object.fromEntries(entries.filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
}

export interface GameFields {
  name: string;
  /** The signing secret, or during a rotation `secrets` (the first signs deliveries, any signs calls to us). */
  secret?: string;
  secrets?: string[];
  deliveryUrl: string;
  revokeUrl?: string | null;
  /** Which channel types each platform's orders may use; null: every enabled account. */
  channelPolicy?: ChannelPolicy | null;
  requireDeliveryEcho?: boolean;
  /** The game's day: IANA time zone and the local hour it starts (defaults Asia/Shanghai, 0). */
  timeZone?: string;
  dailyResetHour?: number;
  /** The age band of an order that names none (ADULT, or a minor band: store/minor-caps.ts). */
  defaultAgeBand?: string;
  /** How the game takes deliveries and revocations (HTTP, NATS, RABBITMQ) and, over a broker, how long an attempt waits for its ack. */
  deliveryMode?: DeliveryMode;
  deliveryAckTimeoutMs?: number;
  /** Answers to store consumption requests (domain/stores/consumption.ts ConsumptionSettings); null: OFF. */
  consumptionAnswers?: ConsumptionSettings | null;
}

/** Where a game's secret is kept: sealed under the credentials keyring (or, written before that, in plaintext). */
export type SealedGameSecret = Pick<Game, 'secret' | 'secretCiphertext' | 'secretKeyId'>;

/** A game as the API uses it: its secret opened, in memory only; its channel policy typed. */
export type OpenGame = Omit<Game, keyof SealedGameSecret | 'channelPolicy'> & {
  /** The first of `secrets`: it signs what we send the game. */
  secret: string;
  /** Every secret a call to us may be signed with (two while the game rotates its secret). */
  secrets: string[];
  channelPolicy: ChannelPolicy | null;
};

/** The game's signing secrets, opened: one sealed string, or during a rotation a sealed list (a row not yet sealed carries one in plaintext). */
export function openGameSecrets(keyring: CredentialsKeyring, row: SealedGameSecret): string[] {
  if (row.secretCiphertext && row.secretKeyId) {
    const sealed = decryptCredentials(keyring, row.secretCiphertext, row.secretKeyId);
    return Array.isArray(sealed) ? (sealed as string[]) : [sealed as string];
  }
  if (row.secret !== null) return [row.secret];
  throw new Error('the game has no secret');
}

/** The secret that signs what we send the game (deliveries, revocations): the first. */
export function openGameSecret(keyring: CredentialsKeyring, row: SealedGameSecret): string {
  return openGameSecrets(keyring, row)[0]!;
}

/** One secret is sealed as a string (as before rotation existed), two as a list. */
function sealGameSecret(keyring: CredentialsKeyring, secrets: string[]): SealedGameSecret {
  const { ciphertext, keyId } = encryptCredentials(keyring, secrets.length === 1 ? secrets[0] : secrets);
  return { secret: null, secretCiphertext: ciphertext, secretKeyId: keyId };
}

function openGame(keyring: CredentialsKeyring, { secret: _secret, secretCiphertext, secretKeyId, ...game }: Game): OpenGame {
  const secrets = openGameSecrets(keyring, { secret: _secret, secretCiphertext, secretKeyId });
  return {
    ...game,
    // Written only by putGame, from a validated body.
    channelPolicy: game.channelPolicy as ChannelPolicy | null,
    secret: secrets[0]!,
    secrets,
  };
}

/**
 * Seals the secrets of games written before secrets were sealed; idempotent, and a row changed
 * meanwhile by an admin write is left to that write.
 */
export async function sealLegacyGameSecrets(db: Db, keyring: CredentialsKeyring): Promise<number> {
  const legacy = await db.game.findMany({ where: { secret: { not: null } }, select: { id: true, secret: true } });
  for (const { id, secret } of legacy) {
    await db.game.updateMany({ where: { id, secret }, data: sealGameSecret(keyring, [secret!]) });
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
    timeZone: game.timeZone,
    dailyResetHour: game.dailyResetHour,
    defaultAgeBand: game.defaultAgeBand,
    deliveryMode: game.deliveryMode,
    deliveryAckTimeoutMs: game.deliveryAckTimeoutMs,
    consumptionAnswers: game.consumptionAnswers,
  };

/**
 * Creates or changes a game, audits the change (who, before, after) and tells every process (its
 * channel policy routes the next orders), in one transaction.
 */
export function putGame(
  db: Db,
  keyring: CredentialsKeyring,
  gameId: string,
  { channelPolicy, consumptionAnswers, secret, secrets: given, ...fields }: GameFields,
  by: AuditActor | string = 'system',
): Promise<OpenGame> {
  const secrets = given ?? (secret === undefined ? [] : [secret]);
  if (secrets.length < 1 || secrets.length > 2) throw new Error('a game has one or two secrets');
  const data = {
    ...fields,
    ...sealGameSecret(keyring, secrets),
    ...(channelPolicy !== undefined && { channelPolicy: channelPolicy === null ? Prisma.DbNull : (channelPolicy as Prisma.InputJsonValue) }),
    ...(consumptionAnswers !== undefined && {
      consumptionAnswers: consumptionAnswers === null ? Prisma.DbNull : (consumptionAnswers as unknown as Prisma.InputJsonValue),
    }),
  };
  return db.$transaction(async (tx) => {
    const before = await tx.game.findUnique({ where: { id: gameId } });
    const after = await tx.game.upsert({ where: { id: gameId }, create: { id: gameId, ...data }, update: data });
    await tx.configAudit.create({
      data: {
        entity: 'game',
        entityId: gameId,
        ...auditColumns(by),
        before: (gameAuditView(before) ?? undefined) as Prisma.InputJsonValue | undefined,
        after: { ...gameAuditView(after), secretChanged: !before || openGameSecrets(keyring, before).join('\n') !== secrets.join('\n') } as Prisma.InputJsonValue,
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
  /** Default CONSUMABLE. */
  kind?: ItemKind;
  /** Required for MONTHLY_CARD, absent otherwise (the schema checks). */
  monthlyCard?: MonthlyCardTerms;
  saleWindow?: SaleWindow;
  limits?: ItemLimits;
  maxPerOrder?: number;
  firstPurchaseBonus?: FirstPurchaseBonus;
  tags?: string[];
}

export type ItemUpsert =
  | { outcome: 'SAVED'; item: CatalogItem }
  | { outcome: 'GAME_NOT_FOUND' }
  | { outcome: 'SKU_TAKEN' };

const json = (value: unknown) => (value === undefined ? Prisma.DbNull : (value as Prisma.InputJsonValue));
const date = (value: string | undefined) => (value ? new Date(value) : null);

/** An item's write, in its transaction: the audit row (who, before, after) and the `items` notification. */
async function auditItem(tx: Prisma.TransactionClient, sku: string, actor: string, before: CatalogItem | null, after: CatalogItem) {
  await tx.configAudit.create({
    data: { entity: 'item', entityId: sku, actor, before: (before ?? undefined) as Prisma.InputJsonValue | undefined, after: after as unknown as Prisma.InputJsonValue },
  });
  await tx.$executeRaw(sql`SELECT pg_notify(${CONFIG_CHANGED}, 'items')`);
}

const readItem = async (tx: Prisma.TransactionClient, sku: string) => {
  const row = await tx.item.findUnique({ where: { sku }, include: { prices: { orderBy: [...PRICE_ORDER] } } });
  return row && catalogItemOf(row);
};

/** Creates or replaces an item (on sale again if it was retired); its prices are replaced as a whole. Audited. */
export async function putItem(db: Db, sku: string, body: ItemFields, actor = 'system'): Promise<ItemUpsert> {
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
    kind: body.kind ?? 'CONSUMABLE',
    monthlyCard: json(body.monthlyCard),
    saleStartsAt: date(body.saleWindow?.startsAt),
    saleEndsAt: date(body.saleWindow?.endsAt),
    retiredAt: null,
    limits: json(body.limits),
    maxPerOrder: body.maxPerOrder ?? null,
    firstPurchaseBonus: json(body.firstPurchaseBonus),
    tags: body.tags ?? [],
  };
  const prices = body.prices.map((p) => ({ sku, ...p, channel: p.channel ?? null, startsAt: date(p.startsAt), endsAt: date(p.endsAt) }));
  const item = await db.$transaction(async (tx) => {
    const before = await readItem(tx, sku);
    await tx.item.upsert({ where: { sku }, create: { sku, ...fields }, update: fields });
    await tx.itemPrice.deleteMany({ where: { sku } });
    await tx.itemPrice.createMany({ data: prices });
    const after = (await readItem(tx, sku))!;
    await auditItem(tx, sku, actor, before, after);
    return after;
  });
  return { outcome: 'SAVED', item };
}

/** Takes an item off sale (orders and history kept); false when there is no such item. Idempotent, audited once. */
export async function retireItem(db: Db, sku: string, actor = 'system'): Promise<boolean> {
  return db.$transaction(async (tx) => {
    const before = await readItem(tx, sku);
    if (!before) return false;
    if (before.retiredAt) return true;
    await tx.item.update({ where: { sku }, data: { retiredAt: new Date() } });
    await auditItem(tx, sku, actor, before, (await readItem(tx, sku))!);
    return true;
  });
}

export interface ItemFilter {
  gameId?: string;
  kind?: ItemKind;
  tag?: string;
  /** Keyset paging: skus after this one. */
  after?: string;
  limit: number;
}

/** Items in sku order, retired ones included (they carry retiredAt). */
export async function listItems(db: Db, filter: ItemFilter): Promise<CatalogItem[]> {
  const rows = await db.item.findMany({
    where: {
      gameId: filter.gameId,
      kind: filter.kind,
      ...(filter.tag && { tags: { array_contains: [filter.tag] } }),
      ...(filter.after && { sku: { gt: filter.after } }),
    },
    include: { prices: { orderBy: [...PRICE_ORDER] } },
    orderBy: { sku: 'asc' },
    take: filter.limit,
  });
  return rows.map(catalogItemOf);
}

/**
 * For a store's payment of another product than the order's: the order's item, whose `storeProducts`
 * says which store type the order's product is of, and the game's items that store sells as
 * `productId` (retired ones too: the store may still sell it).
 */
export async function itemsSellingProductOfStore(
  db: Db,
  order: { gameId: string; sku: string; storeProductId: string },
  productId: string,
): Promise<{ storeType?: string; items: CatalogItem[] }> {
  const own = await db.item.findUnique({ where: { sku: order.sku }, select: { storeProducts: true } });
  const products = own?.storeProducts ? storeProductsOf(own.storeProducts) : {};
  const storeType = Object.keys(products).find((type) => products[type] === order.storeProductId);
  if (!storeType) return { items: [] };
  const rows = await db.item.findMany({
    where: { gameId: order.gameId, storeProducts: { path: [storeType], equals: productId } },
    include: { prices: { orderBy: [...PRICE_ORDER] } },
  });
  return { storeType, items: rows.map(catalogItemOf) };
}

export type ItemAuditAction = 'CREATED' | 'UPDATED' | 'RETIRED';

/** An item's audit, oldest first; null when the item never existed. */
export async function itemAudit(db: Db, sku: string) {
  const rows = await db.configAudit.findMany({ where: { entity: 'item', entityId: sku }, orderBy: { id: 'asc' } });
  if (rows.length === 0 && !(await db.item.findUnique({ where: { sku }, select: { sku: true } }))) return null;
  return rows.map((r) => {
    const before = r.before as { retiredAt?: string | null } | null;
    const after = r.after as { retiredAt?: string | null } | null;
    const action: ItemAuditAction = !before ? 'CREATED' : after?.retiredAt && !before.retiredAt ? 'RETIRED' : 'UPDATED';
    return { at: r.at, actor: r.actor, action, before: r.before, after: r.after };
  });
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
  /** gameId → the game's items not retired, in sku order (the storefront's list). */
  private readonly gameItemLists?: LRUCache<string, Found<CatalogItem[]>>;
  /** (game, region, channel type) → the storefront's offers, with the item list they were made of. */
  private readonly offers?: LRUCache<string, StorefrontOffers & { items: readonly CatalogItem[] }>;
  private readonly loadGame: (id: string) => Promise<OpenGame | null>;
  private readonly loadItem: (sku: string) => Promise<CatalogItem | null>;
  private readonly loadGameItems: (gameId: string) => Promise<CatalogItem[]>;

  constructor(db: Db, keyring: CredentialsKeyring, ttlMs: number) {
    this.loadGame = async (id) => {
      const game = await db.game.findUnique({ where: { id } });
      return game && openGame(keyring, game);
    };
    this.loadItem = async (sku) => {
      const row = await db.item.findUnique({ where: { sku }, include: { prices: true } });
      return row && catalogItemOf(row);
    };
    this.loadGameItems = async (gameId) => {
      const rows = await db.item.findMany({ where: { gameId, retiredAt: null }, include: { prices: true }, orderBy: { sku: 'asc' } });
      return rows.map(catalogItemOf);
    };
    if (ttlMs === 0) return;
    // fetchMethod also makes concurrent misses for one key share a single query.
    this.games = new LRUCache({ max: 1_000, ttl: ttlMs, fetchMethod: async (id) => ({ value: await this.loadGame(id) }) });
    this.items = new LRUCache({ max: 10_000, ttl: ttlMs, fetchMethod: async (sku) => ({ value: await this.loadItem(sku) }) });
    this.gameItemLists = new LRUCache<string, Found<CatalogItem[]>>({ max: 1_000, ttl: ttlMs, fetchMethod: async (gameId) => ({ value: await this.loadGameItems(gameId) }) });
    // Bounded by offers held (a few hundred bytes each), not by keys: one game may have thousands of items.
    this.offers = new LRUCache({ maxSize: 200_000, sizeCalculation: (o) => o.offers.length + 1 });
  }

  game(id: string): Promise<OpenGame | null> {
    return this.games ? cached(this.games, id, this.loadGame) : this.loadGame(id);
  }

  item(sku: string): Promise<CatalogItem | null> {
    return this.items ? cached(this.items, sku, this.loadItem) : this.loadItem(sku);
  }

  /** The game's items not retired, in sku order. */
  async gameItems(gameId: string): Promise<CatalogItem[]> {
    return (this.gameItemLists ? await cached(this.gameItemLists, gameId, this.loadGameItems) : await this.loadGameItems(gameId)) ?? [];
  }

  /**
   * The player-independent part of the game's storefront for a region and channel type: made once
   * from the cached item list and kept until that list is read afresh (a change, here or notified)
   * or the first price or sale window boundary passes, so a scheduled price takes effect on time.
   */
  async storefrontOffers(gameId: string, query: OfferQuery): Promise<StorefrontOffers> {
    const items = await this.gameItems(gameId);
    if (!this.offers) return storefrontOffers(items, query);
    const key = `${gameId}\u0000${query.region}\u0000${offerChannelType(query) ?? ''}`;
    const kept = this.offers.get(key);
    if (kept && kept.items === items && query.at.getTime() < (kept.validUntil ?? Infinity)) return kept;
    const made = { ...storefrontOffers(items, query), items };
    this.offers.set(key, made);
    return made;
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
    // Its game's list holds it (an item may also have moved out of a list): every list is read afresh.
    this.gameItemLists?.clear();
    this.offers?.clear();
  }

  /** Another process changed an item (the notification does not say which). */
  itemsChanged() {
    this.items?.clear();
    this.gameItemLists?.clear();
    this.offers?.clear();
  }
}
