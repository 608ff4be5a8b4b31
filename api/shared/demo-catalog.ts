/**
 * The one demo catalog: what the API documentation shows as examples (so it is the API's own data,
 * not dev tooling), what `npm run dev` seeds, what tests and benchmarks sell when they need "a game
 * with an item". The secret is public: only the development demo game uses it.
 */
export const DEMO_GAME_ID = 'demo-game';
export const DEMO_SECRET = 'demo-secret-for-local-development-only-0001';
export const DEMO_GAME_NAME = 'Demo Game';

export interface DemoItem {
  sku: string;
  name: string;
  grants: { itemId: string; quantity: number }[];
  prices: { region: string; currency: string; amount: number }[];
  /** Units to sell; absent for unlimited virtual goods. */
  stock?: number;
}

export const DEMO_GEMS: DemoItem = {
  sku: 'demo-gems-60',
  name: '60 Gems',
  grants: [{ itemId: 'gem', quantity: 60 }],
  prices: [
    { region: 'CN', currency: 'CNY', amount: 600 },
    { region: 'JP', currency: 'JPY', amount: 160 },
    { region: '*', currency: 'USD', amount: 99 },
  ],
};

export const DEMO_FOUNDER_PACK: DemoItem = {
  sku: 'demo-founder-pack',
  name: 'Founder Pack (limited)',
  grants: [
    { itemId: 'gem', quantity: 300 },
    { itemId: 'founder-skin', quantity: 1 },
  ],
  prices: [
    { region: 'CN', currency: 'CNY', amount: 3000 },
    { region: '*', currency: 'USD', amount: 499 },
  ],
  stock: 1000,
};

export const DEMO_ITEMS: readonly DemoItem[] = [DEMO_GEMS, DEMO_FOUNDER_PACK];

/** The admin API body of a demo item for `gameId`. */
export function itemUpsert(item: DemoItem, gameId: string) {
  return {
    gameId,
    name: item.name,
    grants: item.grants,
    prices: item.prices,
    ...(item.stock !== undefined ? { stock: item.stock } : {}),
  };
}
