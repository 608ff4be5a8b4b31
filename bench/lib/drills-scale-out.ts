import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Drill, DrillContext } from './drills';
import { WORKER_QUEUES } from './topology';

/**
 * The drills of several processes: a worker or an API of two lost, the fulfillment pool stopped.
 * Each runs on either engine (`npm run chaos -- --temporal server`).
 */

/** Grants after `since` (epoch ms), in order: how soon the system carried on. */
function grantsAfter(ctx: DrillContext, since: number): number[] {
  return [...ctx.stack.gameServer.grants.values()]
    .map((g) => g.grantedAt)
    .filter((at) => at > since)
    .sort((a, b) => a - b);
}

/** The longest time without a grant from `since` until the last grant. */
function longestGrantGap(ctx: DrillContext, since: number): number {
  let previous = since;
  let longest = 0;
  for (const at of grantsAfter(ctx, since)) {
    longest = Math.max(longest, at - previous);
    previous = at;
  }
  return longest;
}

/** A process that was killed on purpose stayed down, and the others were never restarted. */
function killedAloneInvariant(ctx: DrillContext, killed: string) {
  const others = ctx.stack.processes().filter((p) => p.name !== killed);
  const victim = ctx.stack.processes().find((p) => p.name === killed)!;
  const restarted = others.filter((p) => p.exits.length > 0).map((p) => p.name);
  ctx.extraInvariants.push({
    name: `only ${killed} was lost, and it stayed down`,
    ok: !victim.pid && victim.exits.length === 1 && restarted.length === 0,
    detail: restarted.length ? `also exited: ${restarted.join(', ')}` : `${others.map((p) => p.name).join(', ')} ran throughout`,
  });
}

/** The others carry on at once: the first goods after the fault were granted within this. */
const CARRIES_ON_WITHIN_MS = 5_000;

export const SCALE_OUT_DRILLS: Record<string, Drill> = {
  'worker-failover': {
    title: 'two worker processes; one killed (kill -9) with purchases in flight and left down: the other carries on',
    fast: false,
    stack: { workers: [[...WORKER_QUEUES], [...WORKER_QUEUES]] },
    async run(ctx) {
      // Slow deliveries keep some in flight on the victim when it dies.
      ctx.stack.gameServer.faults = { failRate: 0, slowRate: 0.3, slowMs: 300 };
      const victim = ctx.stack.workers[0]!;
      let killedAt = 0;
      await ctx.purchasesWithFault(ctx.n(300), 50, ctx.n(80), async () => {
        ctx.log(`kill -9 ${victim.name} (pid ${victim.pid}); ${ctx.stack.workers[1]!.name} keeps polling`);
        killedAt = Date.now();
        await victim.kill('SIGKILL');
      });
      const after = grantsAfter(ctx, killedAt);
      const firstGrantMs = after.length ? after[0]! - killedAt : undefined;
      killedAloneInvariant(ctx, victim.name);
      ctx.extraInvariants.push({
        name: `goods kept being granted within ${CARRIES_ON_WITHIN_MS / 1000} s of the kill`,
        ok: firstGrantMs !== undefined && firstGrantMs < CARRIES_ON_WITHIN_MS,
        detail: firstGrantMs === undefined ? 'no grant after the kill' : `first grant ${firstGrantMs} ms after the kill, ${after.length} grants after it`,
      });
      return { firstGrantAfterKillMs: firstGrantMs, grantsAfterKill: after.length, longestGrantGapAfterKillMs: longestGrantGap(ctx, killedAt) };
    },
  },

  'api-failover': {
    title: 'two API processes; one killed (kill -9) with requests in flight and left down: clients retry the same keys on the other',
    fast: false,
    stack: { apis: 2 },
    async run(ctx) {
      const victim = ctx.stack.apis[0]!;
      let killedAt = 0;
      const before = new Map(ctx.stack.client.answers.counts);
      await ctx.purchasesWithFault(ctx.n(300), 50, ctx.n(80), async () => {
        ctx.log(`kill -9 ${victim.name} (pid ${victim.pid}); ${ctx.stack.apis[1]!.name} keeps answering`);
        killedAt = Date.now();
        await victim.kill('SIGKILL');
      });
      const retried = Object.fromEntries(
        [...ctx.stack.client.answers.counts].map(([k, n]) => [k, n - (before.get(k) ?? 0)]).filter(([, n]) => Number(n) > 0),
      );
      const after = grantsAfter(ctx, killedAt);
      killedAloneInvariant(ctx, victim.name);
      ctx.extraInvariants.push({
        name: `goods kept being granted within ${CARRIES_ON_WITHIN_MS / 1000} s of the kill`,
        ok: after.length > 0 && after[0]! - killedAt < CARRIES_ON_WITHIN_MS,
        detail: after.length ? `first grant ${after[0]! - killedAt} ms after the kill, ${after.length} grants after it` : 'no grant after the kill',
      });
      return { answersRetriedOnTheOtherApi: retried, grantsAfterKill: after.length, longestGrantGapAfterKillMs: longestGrantGap(ctx, killedAt) };
    },
  },

  'fulfillment-pool-down': {
    title: 'workers [purchases,finance] and [fulfillment]; the only fulfillment worker stopped for 20 s: creates keep answering, deliveries wait, then complete',
    fast: false,
    stack: { workers: [['purchases', 'finance'], ['fulfillment']] },
    async run(ctx) {
      const pool = ctx.stack.workers[1]!;
      let restartedAt = 0;
      const createsDuringOutage: number[] = [];
      let grantsDuringOutage = 0;
      await ctx.purchasesWithFault(ctx.n(250), 20, ctx.n(40), async () => {
        ctx.log(`stopping ${pool.name} (the fulfillment pool) for 20 s`);
        await pool.stop();
        const grantsAtStop = ctx.stack.gameServer.grants.size;
        // Purchases go on meanwhile (the pool's other clients); a probe measures the create answer itself, then pays.
        const until = performance.now() + 20_000;
        for (let i = 0; performance.now() < until; i++) {
          const t0 = performance.now();
          const probe = await ctx.stack.client.createOrderWithRetry(ctx.game, ctx.orderBody(i), randomUUID());
          ctx.createdOrderIds.push(probe.orderId);
          createsDuringOutage.push(Math.round(performance.now() - t0));
          // Paid too: its delivery is one that must wait for the pool and complete once it is back.
          if (probe.payment) await ctx.stack.client.payWithRetry(probe.payment.channelPaymentId);
          await sleep(500);
        }
        grantsDuringOutage = ctx.stack.gameServer.grants.size - grantsAtStop;
        // Waiting deliveries may be granted before the poll check below sees the worker: grants count from its start.
        restartedAt = Date.now();
        pool.start();
        await ctx.stack.waitForWorker(pool);
        // The waiting deliveries are the pool's first work: give them the window the check below allows.
        for (const until = Date.now() + 2 * CARRIES_ON_WITHIN_MS; !grantsAfter(ctx, restartedAt).length && Date.now() < until; ) await sleep(100);
        ctx.log(`${pool.name} back; ${grantsDuringOutage} grants while it was down`);
      });
      const after = grantsAfter(ctx, restartedAt);
      const sorted = [...createsDuringOutage].sort((a, b) => a - b);
      ctx.extraInvariants.push(
        {
          name: 'creates kept answering 201 while the fulfillment pool was down',
          ok: createsDuringOutage.length >= 10,
          detail: `${createsDuringOutage.length} probe creates answered 201 (p50 ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted.at(-1)} ms)`,
        },
        {
          name: 'no goods granted while no fulfillment worker ran (deliveries waited)',
          ok: grantsDuringOutage === 0,
          detail: `${grantsDuringOutage} grants during the outage`,
        },
        {
          name: `deliveries resumed within ${CARRIES_ON_WITHIN_MS / 1000} s of the pool's return`,
          ok: after.length > 0 && after[0]! - restartedAt < CARRIES_ON_WITHIN_MS,
          detail: after.length ? `first grant ${after[0]! - restartedAt} ms after it was started again, ${after.length} grants after it` : 'no grant after the return',
        },
      );
      return {
        probeCreatesDuringOutage: createsDuringOutage.length,
        probeCreateMsDuringOutage: { p50: sorted[Math.floor(sorted.length / 2)], max: sorted.at(-1) },
        grantsDuringOutage,
        grantsAfterReturn: after.length,
      };
    },
  },
};
