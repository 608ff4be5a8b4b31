import type Redis from 'ioredis';
import { windowKey, type RiskDecision, type WindowFigures } from '../domain/risk/rules';
import type { Database } from '../infra/db';
import type { HoldOutcome, HoldRequest } from './minor-caps';
import { recordRiskDecision, riskFacts, windowSubjects } from './risk';
import type { CountedCheck, RiskCounters } from './risk-counters';

/**
 * The risk counters in Redis (REDIS_URL), with the PostgreSQL store's contract (risk-counters.ts).
 * Per game and subject (user id, or the digest of the device, IP or subnet) one sorted set of the
 * orders risk let through, scored by when (ms), each member `orderId|currency|amount|userId`: one
 * order is always the same member, so taking it twice counts it once. A script reads every window's
 * figures and adds the order in one step; an order the rules then deny is taken out again (until
 * then, concurrent orders count it: the windows err towards more, never fewer). Trimmed to the
 * longest look-back of any enabled rule, expiring with it. The blacklist, the built-in guard, paid
 * orders, payment failures and the decisions themselves stay in PostgreSQL (one read, one write).
 *
 * A minor's month is a hash (`used`, and one field per order holding its amount, `r<amount>` once
 * given back) changed by scripts only; `hold:<orderId>` names the month an order's hold is in.
 */

/** The order's figures in each window, and what the device's and day's rules need; then the order takes its place. */
const TAKE_SCRIPT = `
local me, user, currency = ARGV[1], ARGV[2], ARGV[3]
local now, trimBefore, ttl = ARGV[4], ARGV[5], ARGV[6]
local function fields(member)
  local order, cur, amount, who = string.match(member, '^([^|]*)|([^|]*)|([^|]*)|(.*)$')
  return cur, tonumber(amount), who
end
for i = 1, #KEYS do redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', '(' .. trimBefore) end
local windows, pos = {}, 8
for q = 1, tonumber(ARGV[7]) do
  local members = redis.call('ZRANGEBYSCORE', KEYS[tonumber(ARGV[pos])], '(' .. ARGV[pos + 1], '+inf')
  pos = pos + 2
  local orders, amount, others, seen = 0, 0, 0, {}
  for _, m in ipairs(members) do
    if m ~= me then
      local cur, value, who = fields(m)
      orders = orders + 1
      if cur == currency then amount = amount + value end
      if who ~= user and not seen[who] then seen[who] = true; others = others + 1 end
    end
  end
  windows[q] = {orders, amount, others}
end
local deviceFirst = -1
local device = tonumber(ARGV[pos])
if device > 0 then
  local oldest = redis.call('ZRANGE', KEYS[device], 0, 1, 'WITHSCORES')
  if oldest[1] and oldest[1] ~= me then deviceFirst = tonumber(oldest[2])
  elseif oldest[3] then deviceFirst = tonumber(oldest[4]) end
end
local dayTotal = -1
local userKey = tonumber(ARGV[pos + 1])
if userKey > 0 then
  dayTotal = 0
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[userKey], ARGV[pos + 2], '+inf')) do
    local cur, value = fields(m)
    if m ~= me and cur == currency then dayTotal = dayTotal + value end
  end
end
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], 'NX', now, me)
  redis.call('PEXPIRE', KEYS[i], ttl)
end
return {windows, deviceFirst, dayTotal}`;

/** The hold if the month stays within the ceiling (a re-run finds the order's field: held). */
const HOLD_SCRIPT = `
local used = tonumber(redis.call('HGET', KEYS[1], 'used') or '0')
local amount, ceiling = tonumber(ARGV[2]), tonumber(ARGV[3])
if redis.call('HEXISTS', KEYS[1], 'order:' .. ARGV[1]) == 1 then return {1, math.max(0, used - amount)} end
if used + amount > ceiling then return {0, used} end
redis.call('HINCRBY', KEYS[1], 'used', amount)
redis.call('HSET', KEYS[1], 'order:' .. ARGV[1], amount)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('SET', KEYS[2], KEYS[1], 'PX', ARGV[4])
return {1, used}`;

/** The hold's amount back to its month, once. */
const GIVE_BACK_SCRIPT = `
local held = redis.call('HGET', KEYS[1], 'order:' .. ARGV[1])
if not held or string.sub(held, 1, 1) == 'r' then return 0 end
redis.call('HINCRBY', KEYS[1], 'used', -tonumber(held))
redis.call('HSET', KEYS[1], 'order:' .. ARGV[1], 'r' .. held)
return 1`;

/** A month's hash outlives its month by long enough for its orders' refunds to give their holds back. */
const MONTH_TTL_MS = 100 * 86_400_000;
/** Window sets live a minute past the longest look-back. */
const WINDOW_TTL_MARGIN_MS = 60_000;

/**
 * A script Redis keeps by its digest (EVALSHA, loaded again on NOSCRIPT by ioredis): the risk step
 * sends its arguments, not the script, on every order.
 */
function storedScript(redis: Redis, name: string, lua: string) {
  redis.defineCommand(name, { lua });
  const command = (redis as unknown as Record<string, (...args: (string | number)[]) => Promise<unknown>>)[name]!.bind(redis);
  return (keys: string[], ...args: (string | number)[]) => command(keys.length, ...keys, ...args);
}

export function redisRiskCounters(redis: Redis, database: Database, prefix = 'payments:risk:'): RiskCounters {
  const take = storedScript(redis, 'riskTakePlace', TAKE_SCRIPT);
  const hold = storedScript(redis, 'riskTakeMinorHold', HOLD_SCRIPT);
  const giveBack = storedScript(redis, 'riskGiveBackMinorHold', GIVE_BACK_SCRIPT);
  // One game's keys share a hash slot (its id as the hash tag): a script's keys are one slot on a cluster.
  const windowSet = (gameId: string, subject: string, key: string) => `${prefix}{${gameId}}:w:${subject}:${key}`;
  const month = (h: HoldRequest) => `${prefix}{${h.gameId}}:minor:${h.month}:${h.amount.currency}:${h.userId}`;
  const holdOf = (orderId: string) => `${prefix}hold:${orderId}`;
  const memberOf = (c: CountedCheck) => `${c.orderId}|${c.amount.currency}|${c.amount.value}|${c.subject.userId}`;
  const setsOf = (c: CountedCheck) => windowSubjects(c.keys).map((s) => ({ subject: s, key: windowSet(c.subject.gameId, s, c.keys[s]!) }));

  /** The order out of its windows again (denied): idempotent. */
  const giveBackPlace = async (c: CountedCheck) => {
    const tx = redis.multi();
    for (const { key } of setsOf(c)) tx.zrem(key, memberOf(c));
    await tx.exec();
  };

  /** Reads the windows' figures and takes the order's place in them, in one script. */
  const takePlace = async (c: CountedCheck) => {
    const sets = setsOf(c);
    const index = (subject: string) => sets.findIndex((s) => s.subject === subject) + 1; // 0: the order lacks it
    const windows = c.windows.filter((w) => index(w.subject) > 0);
    const now = c.now.getTime();
    const [figures, deviceFirst, dayTotal] = (await take(
      sets.map((s) => s.key),
      memberOf(c),
      c.subject.userId,
      c.amount.currency,
      now,
      now - c.retentionSeconds * 1000,
      c.retentionSeconds * 1000 + WINDOW_TTL_MARGIN_MS,
      windows.length,
      ...windows.flatMap((w) => [index(w.subject), now - w.windowSeconds * 1000]),
      c.deviceFirstSeen ? index('DEVICE') : 0,
      c.dayStart ? index('USER') : 0,
      c.dayStart?.getTime() ?? 0,
    )) as [[number, number, number][], number, number];
    return {
      windows: Object.fromEntries(
        windows.map((w, i): [string, WindowFigures] => {
          const [orders, amount, otherUsers] = figures[i]!;
          return [windowKey(w), { orders, amount, otherUsers }];
        }),
      ),
      deviceFirstSeenAt: deviceFirst < 0 ? null : deviceFirst,
      ...(dayTotal >= 0 && { dayTotal }),
    };
  };

  const takeMinorHold = async (h: HoldRequest): Promise<HoldOutcome> => {
    const [held, used] = (await hold([month(h), holdOf(h.orderId)], h.orderId, h.amount.value, h.ceiling, MONTH_TTL_MS)) as [number, number];
    return { held: held === 1, used };
  };

  return {
    backend: 'redis',
    async decide(check, judge): Promise<RiskDecision> {
      // The books' facts (blacklist, the built-in guard, paid orders, failures, a kept decision): one read.
      const { facts, earlier } = await riskFacts(database.sql, { ...check, windows: [], deviceFirstSeen: false, dayStart: undefined });
      if (earlier) {
        if (earlier.decision === 'DENY') await giveBackPlace(check); // a crash may have come between the two
        return earlier;
      }
      const counted = await takePlace(check);
      const decided = await judge({ ...facts, ...counted }, takeMinorHold);
      if (decided.decision === 'DENY') await giveBackPlace(check);
      const { gameId, userId } = check.subject;
      await recordRiskDecision(database.sql, { orderId: check.orderId, gameId, userId, amount: check.amount, keys: check.keys, now: check.now }, decided, {
        windows: false,
      });
      return decided;
    },
    takeMinorHold,
    async giveBackMinorHold(orderId) {
      // The month a hold is in never changes once named: reading it first races nothing.
      const monthKey = await redis.get(holdOf(orderId));
      if (monthKey !== null) await giveBack([monthKey], orderId);
    },
    async close() {},
  };
}
