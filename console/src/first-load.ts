import { api } from './client/api';

/**
 * The calls a first load needs, started before the app's code has even arrived: who am I and, on an
 * order's deep link, that order, side by side (the order page no longer waits for the sign-in check
 * to answer before asking). Each answer is taken once, by the first view that needs it.
 */
const ORDER_PAGE = /^\/console\/orders\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;

type SessionAnswer = ReturnType<typeof askSession>;
type OrderAnswer = ReturnType<typeof askOrder>;

const askSession = () => api.GET('/v1/console/session');
const askOrder = (orderId: string) => api.GET('/v1/ops/orders/{orderId}', { params: { path: { orderId } } });

let session: SessionAnswer | undefined;
let order: { orderId: string; answer: OrderAnswer } | undefined;

export function startFirstLoad(pathname: string): void {
  session = askSession();
  const orderId = ORDER_PAGE.exec(pathname)?.[1]?.toLowerCase();
  if (!orderId) return;
  const answer = askOrder(orderId);
  answer.catch(() => undefined); // taken (and its failure shown) by the order page, or dropped
  order = { orderId, answer };
}

/** Who am I: the answer started at load the first time, a new call afterwards. */
export function sessionAnswer(): SessionAnswer {
  const first = session;
  session = undefined;
  return first ?? askSession();
}

/**
 * The order: the answer started at load when it is this order's first view and it was asked signed
 * in (a deep link opened signed out asks again after the sign-in); a new call otherwise.
 */
export async function orderAnswer(orderId: string): OrderAnswer {
  const first = order?.orderId === orderId ? order.answer : undefined;
  order = undefined;
  const answer = first && (await first);
  return answer && answer.response.status !== 401 ? answer : askOrder(orderId);
}
