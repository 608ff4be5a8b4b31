import { csvCell } from '../shared/csv';
import { randomUUID } from 'node:crypto';
import { Router, type Response } from 'express';
import type { ChannelRegistry } from '../../channels/registry';
import { isResolvable, RESOLUTIONS } from '../../domain/reconciliation/differences';
import { dayOf, daysFrom } from '../../domain/reconciliation/days';
import type { Config } from '../../infra/config';
import type { Database } from '../../infra/db';
import type { ReconciliationClient } from '../../infra/reconciliation';
import { accountEntries, trialBalance } from '../../store/journal';
import {
  createRuns,
  differencesOf,
  findDifference,
  findRun,
  listDifferences,
  listRuns,
  markFailed,
  resolveDifference,
  type DifferenceRow,
  type RunRow,
} from '../../store/reconciliation';
import { channelPeriods, channelReport, daysNotRolledUp, revenueReport, rolledUpDays, type ReportDimension } from '../../store/reports';
import { actorOf, operatorAuth, operatorOf } from '../auth';
import { ApiError, parseBody } from '../errors';
import { jsonBody } from '../shared/body';
import { dayRange, instantRange } from '../shared/ranges';
import {
  MAX_RECONCILIATION_DAYS,
  MAX_REPORT_DAYS,
  accountEntriesQuery,
  accountPath,
  channelsReportQuery,
  differencePath,
  differencesQuery,
  reconciliationRequest,
  resolveBody,
  revenueQuery,
  runPath,
  runQuery,
  runsQuery,
  trialBalanceQuery,
} from './schemas';

interface Deps {
  database: Database;
  config: Config;
  channels: ChannelRegistry;
  reconciliations: ReconciliationClient;
}

/**
 * Finance: the ledger (trial balance, account entries), reconciliation runs (reruns, differences and
 * their resolution) and reports. Admin token; the finance role where roles exist.
 */
export function financeRouter({ database, config, channels, reconciliations }: Deps): Router {
  const run = database.sql;
  const router = Router();
  router.use('/v1/finance', operatorAuth(config), ...jsonBody('16kb'));

  router.get('/v1/finance/ledger/trial-balance', async (req, res) => {
    const q = parseBody(trialBalanceQuery, req.query);
    const rows = await trialBalance(run, q);
    const totals = new Map<string, { currency: string; debits: number; credits: number }>();
    const accounts = rows.map((r) => {
      const row = { account: r.account, currency: r.currency, debits: safe(r.debits), credits: safe(r.credits), balance: safe(r.balance) };
      const total = totals.get(r.currency) ?? { currency: r.currency, debits: 0, credits: 0 };
      total.debits += row.debits;
      total.credits += row.credits;
      totals.set(r.currency, total);
      return row;
    });
    res.json({ ...(q.currency && { currency: q.currency }), ...(q.at && { at: q.at }), accounts, totals: [...totals.values()] });
  });

  router.get('/v1/finance/ledger/accounts/:account/entries', async (req, res) => {
    const account = parseBody(accountPath, req.params.account);
    const q = parseBody(accountEntriesQuery, req.query);
    const rows = await accountEntries(run, { account, ...instantRange(q, config.RECON_TIME_ZONE), afterId: q.after, limit: q.limit });
    res.json({
      account,
      entries: rows.map((e) => ({
        id: e.id,
        eventId: e.event_id,
        kind: e.kind,
        ...(e.order_id && { orderId: e.order_id }),
        ...(e.reference && { reference: e.reference }),
        ...(e.memo && { memo: e.memo }),
        effectiveAt: e.effective_at,
        recordedAt: e.recorded_at,
        currency: e.currency,
        amount: safe(e.amount),
        postings: e.postings,
      })),
      page: rows.length === q.limit ? { nextAfter: rows[rows.length - 1]!.id } : {},
    });
  });

  router.post('/v1/finance/reconciliations', async (req, res) => {
    const request = parseBody(reconciliationRequest, req.body);
    const body = { ...request, ...dayRange(request, config.RECON_TIME_ZONE) };
    const adapter = channels.get(body.channel);
    if (!adapter) throw new ApiError(404, 'CHANNEL_NOT_FOUND', `no channel account ${body.channel}`, { available: channels.names() });
    if (!adapter.supports.statement) throw new ApiError(422, 'STATEMENT_UNSUPPORTED', `${body.channel} publishes no statements to reconcile`);
    const today = dayOf(new Date(), config.RECON_TIME_ZONE);
    if (body.to > today) throw new ApiError(422, 'DATE_IN_FUTURE', `${body.to} has not begun in ${config.RECON_TIME_ZONE} (today is ${today})`);
    const days = daysFrom(body.from, body.to);
    if (days.length > MAX_RECONCILIATION_DAYS) {
      throw new ApiError(422, 'RANGE_TOO_LONG', `at most ${MAX_RECONCILIATION_DAYS} days per request (asked ${days.length})`);
    }
    const requestedBy = optionalOperator(res);
    const created = await createRuns(
      run,
      days.map((date) => ({ id: randomUUID(), channel: body.channel, date, timeZone: config.RECON_TIME_ZONE, trigger: 'API', requestedBy })),
    );
    try {
      await reconciliations.startRuns(created.map((r) => ({ runId: r.id, channel: r.channel, date: r.date })));
    } catch (err) {
      // Nothing will run them: they end now, failed, rather than stay RUNNING.
      for (const r of created) await markFailed(run, r.id, 'the reconciliation workflow could not be started');
      throw err;
    }
    res.status(202).json({ runs: created.map((r) => ({ id: r.id, channel: r.channel, date: r.date, status: r.status })) });
  });

  router.get('/v1/finance/reconciliations', async (req, res) => {
    const q = parseBody(runsQuery, req.query);
    res.json({ runs: (await listRuns(run, q)).map(runView) });
  });

  router.get('/v1/finance/reconciliations/:runId', async (req, res) => {
    const found = runPath.safeParse(req.params.runId).success ? await findRun(run, req.params.runId) : undefined;
    if (!found) throw new ApiError(404, 'RUN_NOT_FOUND', `no reconciliation run ${req.params.runId}`);
    const q = parseBody(runQuery, req.query);
    const differences = await differencesOf(run, { runId: found.id, afterId: q.after, limit: q.limit, kind: q.kind, resolution: q.resolution });
    res.json({
      ...runView(found),
      differences: differences.map(differenceView),
      page: differences.length === q.limit ? { nextAfter: differences[differences.length - 1]!.id } : {},
    });
  });

  router.get('/v1/finance/differences', async (req, res) => {
    const q = parseBody(differencesQuery, req.query);
    const rows = await listDifferences(run, { ...q, afterId: q.after });
    res.json({
      differences: rows.map((d) => ({ ...differenceView(d), channel: d.channel, date: d.date })),
      page: rows.length === q.limit ? { nextAfter: rows[rows.length - 1]!.id } : {},
    });
  });

  router.post('/v1/finance/differences/:differenceId/resolve', async (req, res) => {
    const resolvedBy = actorOf(res, { required: true }).actor;
    const id = parseBody(differencePath, req.params.differenceId);
    const { note } = parseBody(resolveBody, req.body);
    const resolved = await resolveDifference(database, { id, note, resolvedBy, resolvable: RESOLUTIONS.filter(isResolvable) });
    if (resolved) return void res.json(differenceView(resolved));
    const current = await findDifference(run, id);
    if (!current) throw new ApiError(404, 'DIFFERENCE_NOT_FOUND', `no difference ${id}`);
    // The same resolution again answers the same: a retried request changes nothing.
    if (current.resolution === 'RESOLVED' && current.note === note) return void res.json(differenceView(current));
    throw new ApiError(409, 'DIFFERENCE_NOT_OPEN', `difference ${id} is ${current.resolution}`, { resolution: current.resolution });
  });

  router.get('/v1/finance/reports/revenue', async (req, res) => {
    const query = parseBody(revenueQuery, req.query);
    const q = { ...query, ...reportRange(query, config.RECON_TIME_ZONE) };
    const by = (q.by ?? ['game', 'channel']) as ReportDimension[];
    const [rows, coverage, notRolledUp] = await Promise.all([
      revenueReport(database, { from: q.from, to: q.to, groupBy: q.groupBy, by, game: q.game, channel: q.channel, currency: q.currency }),
      rolledUpDays(run, q),
      q.format === 'csv' ? Promise.resolve([]) : daysNotRolledUp(run, q),
    ]);
    const view = rows.map((r) => ({
      period: r.period,
      ...(r.game_id !== undefined && { game: r.game_id }),
      ...(r.channel !== undefined && { channel: r.channel }),
      ...(r.region !== undefined && { region: r.region }),
      currency: r.currency,
      ordersPaid: safe(r.orders_paid),
      paid: safe(r.paid_amount),
      delivered: safe(r.delivered),
      revenue: safe(r.revenue),
      refunds: safe(r.refunds),
      refunded: safe(r.refund_amount),
      chargebacks: safe(r.chargebacks),
      chargedBack: safe(r.chargeback_amount),
    }));
    if (q.format === 'csv') {
      const columns = ['period', ...by.filter((d) => d !== 'currency'), 'currency', 'ordersPaid', 'paid', 'delivered', 'revenue', 'refunds', 'refunded', 'chargebacks', 'chargedBack'];
      const lines = [columns.join(','), ...view.map((row) => columns.map((c) => csvCell((row as Record<string, unknown>)[c])).join(','))];
      res.type('text/csv; charset=utf-8').set('Content-Disposition', `attachment; filename="revenue-${q.from}-${q.to}.csv"`);
      return void res.send(`${lines.join('\n')}\n`);
    }
    res.json({ from: q.from, to: q.to, timeZone: config.RECON_TIME_ZONE, groupBy: q.groupBy, by, rows: view, coverage, notRolledUp });
  });

  router.get('/v1/finance/reports/channels', async (req, res) => {
    const query = parseBody(channelsReportQuery, req.query);
    const q = { ...query, ...reportRange(query, config.RECON_TIME_ZONE) };
    const [rows, coverage, periodRows] = await Promise.all([
      channelReport(run, q),
      rolledUpDays(run, q),
      q.groupBy ? channelPeriods(run, { from: q.from, to: q.to, groupBy: q.groupBy }) : Promise.resolve([]),
    ]);
    const byChannel = new Map<string, { channel: string; ordersCreated: number; ordersPaid: number; refunds: number; chargebacks: number; amounts: { currency: string; paid: number; refunded: number; chargedBack: number; fees: number }[] }>();
    for (const r of rows) {
      const c = byChannel.get(r.channel) ?? { channel: r.channel, ordersCreated: 0, ordersPaid: 0, refunds: 0, chargebacks: 0, amounts: [] };
      c.ordersCreated += safe(r.orders_created);
      c.ordersPaid += safe(r.orders_paid);
      c.refunds += safe(r.refunds);
      c.chargebacks += safe(r.chargebacks);
      c.amounts.push({ currency: r.currency, paid: safe(r.paid_amount), refunded: safe(r.refund_amount), chargedBack: safe(r.chargeback_amount), fees: safe(r.fees) });
      byChannel.set(r.channel, c);
    }
    const channels = [...byChannel.values()].map((c) => ({ ...c, successRate: paidShare(c.ordersPaid, c.ordersCreated) }));
    const periods = periodRows.map((p) => {
      const created = safe(p.orders_created);
      const paid = safe(p.orders_paid);
      return { period: p.period, channel: p.channel, ordersCreated: created, ordersPaid: paid, successRate: paidShare(paid, created) };
    });
    if (q.format === 'csv') {
      const lines = q.groupBy
        ? [['period', 'channel', 'ordersCreated', 'ordersPaid', 'successRate'], ...periods.map((p) => [p.period, p.channel, p.ordersCreated, p.ordersPaid, p.successRate])]
        : [
            ['channel', 'currency', 'ordersCreated', 'ordersPaid', 'successRate', 'refunds', 'chargebacks', 'paid', 'refunded', 'chargedBack', 'fees'],
            ...channels.flatMap((c) =>
              c.amounts.map((a) => [c.channel, a.currency, c.ordersCreated, c.ordersPaid, c.successRate, c.refunds, c.chargebacks, a.paid, a.refunded, a.chargedBack, a.fees]),
            ),
          ];
      res.type('text/csv; charset=utf-8').set('Content-Disposition', `attachment; filename="channels-${q.from}-${q.to}.csv"`);
      return void res.send(`${lines.map((line) => line.map(csvCell).join(',')).join('\n')}\n`);
    }
    res.json({ from: q.from, to: q.to, ...(q.groupBy && { groupBy: q.groupBy, periods }), channels, coverage });
  });

  return router;
}

/** A report's days, within the longest range a report serves. */
function reportRange(q: { from: string; to: string }, timeZone: string): { from: string; to: string } {
  const range = dayRange(q, timeZone);
  const days = daysFrom(range.from, range.to).length;
  if (days > MAX_REPORT_DAYS) throw new ApiError(422, 'RANGE_TOO_LONG', `at most ${MAX_REPORT_DAYS} days per report (asked ${days})`);
  return range;
}

/** Who asked, when anyone is named: a named token, or the shared token's X-Operator. */
function optionalOperator(res: Response): string | undefined {
  const operator = operatorOf(res);
  return operator.shared && !operator.onBehalfOf ? undefined : actorOf(res).actor;
}

function runView(r: RunRow) {
  return {
    id: r.id,
    channel: r.channel,
    date: r.date,
    status: r.status,
    trigger: r.trigger,
    ...(r.requestedBy !== null && { requestedBy: r.requestedBy }),
    timeZone: r.timeZone,
    superseded: r.supersededBy !== null,
    ...(r.supersededBy !== null && { supersededBy: r.supersededBy }),
    progress: { rowsRead: r.rowsRead, rowsMatched: r.rowsMatched },
    ...(r.summary && { summary: r.summary }),
    ...(r.error !== null && { error: r.error }),
    createdAt: r.createdAt,
    ...(r.startedAt !== null && { startedAt: r.startedAt }),
    ...(r.finishedAt !== null && { finishedAt: r.finishedAt }),
  };
}

function differenceView(d: DifferenceRow) {
  const money = (value: string | null) => (value === null || d.currency === null ? undefined : { currency: d.currency, value: safe(value) });
  const ours = money(d.ours);
  const theirs = money(d.theirs);
  return {
    id: d.id,
    runId: d.runId,
    kind: d.kind,
    reason: d.reason,
    resolution: d.resolution,
    resolvable: isResolvable(d.resolution),
    side: d.side,
    ...(d.channelTradeNo !== null && { channelTradeNo: d.channelTradeNo }),
    ...(d.orderId !== null && { orderId: d.orderId }),
    ...(d.refundId !== null && { refundId: d.refundId }),
    ...(ours && { ours }),
    ...(theirs && { theirs }),
    ...(d.detail !== null && { detail: d.detail }),
    ...(d.repair !== null && { repair: d.repair }),
    ...(d.note !== null && { note: d.note }),
    ...(d.resolvedBy !== null && { resolvedBy: d.resolvedBy }),
    ...(d.resolvedAt !== null && { resolvedAt: d.resolvedAt }),
    ...(d.recheckedBy !== null && { recheckedBy: d.recheckedBy }),
  };
}

/** Sums come from PostgreSQL as text (bigint); money stays within safe integers by MAX_ORDER_AMOUNT. */
function safe(value: string | number): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new Error(`${value} is beyond the safe integer range`);
  return n;
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;
/** Orders paid per order placed, to four digits (0 without orders). */
const paidShare = (paid: number, created: number) => (created ? round(paid / created, 4) : 0);

