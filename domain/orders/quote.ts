import { allowanceTerms, type AllowanceTerms } from '../catalog/allowances';
import { maxPerOrder, onSale, type FirstPurchaseBonus, type ItemKind, type ItemLimits, type MonthlyCardTerms, type SaleWindow } from '../catalog/items';
import { gameDay, type GameClock } from '../game-day';
import { grantsFor, orderChannelType, resolvePrice, type Grant, type RegionalPrice } from '../catalog/pricing';
import { AmountTooLargeError, MAX_ORDER_AMOUNT, multiply, type Money } from '../money';
import type { ChannelPolicy, RoutingPlatform } from '../routing/fields';
import type { RouteRequest, RoutingDecision } from '../routing/router';

/**
 * The quote: what an order of an item costs, what it grants and on which terms its channel takes it,
 * or why it cannot be ordered. Two steps around the router (which reads the accounts' health):
 * `priceOrder` before it, `quoteOrder` with its decision.
 */

/** An item as the catalog sells it, its JSON columns already typed. */
export interface SellableItem {
  sku: string;
  gameId: string;
  name: string;
  /** Granted per unit bought. */
  grants: readonly Grant[];
  prices: readonly RegionalPrice[];
  /** The item's product id per store channel type; null when it has none. */
  storeProducts: Readonly<Record<string, string>> | null;
  kind: ItemKind;
  /** Units left to sell; null for unlimited. */
  stockAvailable: number | null;
  saleWindow: SaleWindow | null;
  retiredAt: string | null;
  limits: ItemLimits | null;
  /** Units one order may buy as the operator set it; null: the default (see maxPerOrder). */
  maxPerOrder: number | null;
  firstPurchaseBonus: FirstPurchaseBonus | null;
  /** A monthly card's terms; null or absent for other kinds. */
  monthlyCard?: MonthlyCardTerms | null;
}

export interface QuotingGame extends GameClock {
  id: string;
  /** Which channel types each platform's orders may use; null: every enabled account. */
  channelPolicy: ChannelPolicy | null;
}

export interface OrderRequest {
  sku: string;
  quantity: number;
  region: string;
  platform?: RoutingPlatform;
  /** The account the game asked for. */
  channel?: string;
  /** That account's channel type, when it names one. */
  channelType?: string;
}

/** What the quote needs of the chosen account's adapter. */
export interface ChannelCapabilities {
  /** The channel type (`appstore`, `alipay`, ...). */
  type: string;
  supports: { receipts: boolean; refund: boolean };
}

export type RefusalCode = 'ITEM_NOT_FOUND' | 'NOT_ON_SALE' | 'QUANTITY_NOT_ALLOWED' | 'NO_PRICE_FOR_REGION' | 'AMOUNT_TOO_LARGE' | 'CHANNEL_NOT_AVAILABLE';

/** Why the order cannot be made, as the API answers it. */
export interface Refusal {
  status: 404 | 422;
  code: RefusalCode;
  message: string;
  details?: Record<string, unknown>;
}

export type Quoted<T> = { outcome: 'OK'; value: T } | { outcome: 'REFUSED'; refusal: Refusal };

/** The item priced for the request, and what the router is asked. */
export interface PricedOrder {
  item: SellableItem;
  quantity: number;
  amount: Money;
  /** When the price in force ends (a scheduled price). */
  priceEndsAt?: string;
  /** What the order takes from its user's allowances (counted in the game's day of `at`). */
  allowances?: AllowanceTerms;
  route: RouteRequest;
}

/** The order's terms, fixed when it is created. */
export interface OrderTerms {
  sku: string;
  itemName: string;
  quantity: number;
  grants: Grant[];
  region: string;
  amount: Money;
  channel: string;
  /** The accounts to try, in order (the first is `channel`). */
  channelCandidates: string[];
  routing: Pick<RoutingDecision, 'candidates' | 'chosen' | 'reason'>;
  /** The store's product this order must be paid with (store channels only). */
  storeProductId?: string;
  /** The store confirms the delivery (receipts channels): set only when true. */
  confirmsDelivery?: true;
  /** Set only when the channel cannot refund. */
  refundable?: false;
  allowances?: AllowanceTerms;
  /** A monthly card's terms (card orders only). */
  monthlyCard?: MonthlyCardTerms;
}

const ok = <T>(value: T): Quoted<T> => ({ outcome: 'OK', value });
const refused = <T>(refusal: Refusal): Quoted<T> => ({ outcome: 'REFUSED', refusal });

/**
 * Step 1: the item on sale now, the quantity it allows, its price in force for the request's region
 * and channel type times the quantity; another game's item does not exist.
 */
export function priceOrder(item: SellableItem | null, game: QuotingGame, request: OrderRequest, at: Date): Quoted<PricedOrder> {
  if (!item || item.gameId !== game.id) {
    return refused({ status: 404, code: 'ITEM_NOT_FOUND', message: `no item ${request.sku} in this game` });
  }
  if (!onSale(item, at)) {
    return refused({ status: 422, code: 'NOT_ON_SALE', message: `${request.sku} is not on sale`, details: { retired: item.retiredAt !== null, saleWindow: item.saleWindow ?? undefined } });
  }
  const max = maxPerOrder(item);
  if (max !== undefined && request.quantity > max) {
    return refused({ status: 422, code: 'QUANTITY_NOT_ALLOWED', message: `at most ${max} of ${request.sku} per order`, details: { maxPerOrder: max } });
  }
  const allowedTypes = request.platform ? game.channelPolicy?.[request.platform] : undefined;
  const price = resolvePrice(item.prices, { region: request.region, channelType: orderChannelType({ requestedType: request.channelType, allowedTypes }), at });
  if (!price) {
    return refused({ status: 422, code: 'NO_PRICE_FOR_REGION', message: `${request.sku} has no price for region ${request.region}` });
  }
  let amount: Money;
  try {
    amount = multiply(price.unit, request.quantity);
  } catch (err) {
    if (!(err instanceof AmountTooLargeError)) throw err;
    return refused({ status: 422, code: 'AMOUNT_TOO_LARGE', message: err.message, details: { limit: MAX_ORDER_AMOUNT } });
  }
  return ok({
    item,
    quantity: request.quantity,
    amount,
    ...(price.endsAt && { priceEndsAt: price.endsAt }),
    allowances: allowanceTerms(item, request.quantity, gameDay(at, game)),
    route: {
      amount,
      region: request.region,
      platform: request.platform,
      policy: game.channelPolicy,
      // A store sells its own product: an item without one cannot be bought through it.
      storeProducts: Object.keys(item.storeProducts ?? {}),
      requested: request.channel,
      // A channel's own price holds only through that channel type.
      ...(price.channel && { channelType: price.channel }),
    },
  });
}

/** Step 2: the router's decision and the chosen account's adapter (undefined if it has none) → the order's terms. */
export function quoteOrder(priced: PricedOrder, routing: RoutingDecision, adapter: ChannelCapabilities | undefined): Quoted<OrderTerms> {
  const { item, quantity, amount, route, allowances } = priced;
  const channel = routing.chosen;
  if (!channel || !adapter) {
    const message = route.requested ? `payment channel ${route.requested} is not available for this order` : 'no payment channel can take this order';
    return refused({ status: 422, code: 'CHANNEL_NOT_AVAILABLE', message, details: { available: routing.eligible, candidates: routing.candidates } });
  }
  return ok({
    sku: item.sku,
    itemName: item.name,
    quantity,
    grants: grantsFor(item.grants, quantity),
    region: route.region,
    amount,
    channel,
    channelCandidates: routing.ranked,
    routing: { candidates: routing.candidates, chosen: routing.chosen, reason: routing.reason },
    storeProductId: adapter.supports.receipts ? item.storeProducts?.[adapter.type] : undefined,
    confirmsDelivery: adapter.supports.receipts || undefined,
    refundable: adapter.supports.refund ? undefined : false,
    allowances,
    ...(item.monthlyCard && { monthlyCard: item.monthlyCard }),
  });
}
