import { Router } from 'express';
import type { RiskRule } from '../../domain/risk/rules';
import type { Config } from '../../infra/config';
import type { Database } from '../../infra/db';
import { piiKeyring } from '../../infra/pii';
import { amlReport, blacklistLookup, deleteRiskRule, listBlacklist, listRiskRules, putBlacklistEntry, putRiskRule, removeBlacklistEntry } from '../../store/risk';
import { actorOf, operatorAuth } from '../auth';
import { ApiError, parseBody } from '../errors';
import { jsonBody } from '../shared/body';
import { csvOf } from '../shared/csv';
import { MAX_AML_REPORT_DAYS, amlReportQuery, blacklistBody, blacklistKind, blacklistValue, capRegionPath, minorCapsBody, ruleBody, ruleIdPath } from './schemas';
import { listMinorCaps, putMinorCaps } from '../../store/minor-caps';

/** Risk administration: operators' rules and the blacklist. */
export function riskRouter({ database, config }: { database: Database; config: Config }): Router {
  const { db } = database;
  const router = Router();
  const keyring = () => piiKeyring(config);
  router.use('/v1/admin/risk', operatorAuth(config), ...jsonBody('64kb'));

  router.get('/v1/admin/risk/rules', async (_req, res) => {
    res.json({ rules: await listRiskRules(db) });
  });

  router.put('/v1/admin/risk/rules/:ruleId', async (req, res) => {
    const ruleId = parseBody(ruleIdPath, req.params.ruleId);
    const body = parseBody(ruleBody, req.body) as Omit<RiskRule, 'ruleId'>;
    if (body.gameId !== undefined && !(await db.game.findUnique({ where: { id: body.gameId }, select: { id: true } }))) {
      throw new ApiError(404, 'GAME_NOT_FOUND', `no game ${body.gameId}`);
    }
    res.json(await putRiskRule(database, { ...body, ruleId } as RiskRule, actorOf(res).actor));
  });

  router.delete('/v1/admin/risk/rules/:ruleId', async (req, res) => {
    const ruleId = parseBody(ruleIdPath, req.params.ruleId);
    if (!(await deleteRiskRule(database, ruleId, actorOf(res).actor))) {
      throw new ApiError(404, 'RULE_NOT_FOUND', `no rule ${ruleId}`);
    }
    res.status(204).end();
  });

  router.get('/v1/admin/risk/minor-caps', async (_req, res) => {
    res.json({ caps: await listMinorCaps(database) });
  });

  router.put('/v1/admin/risk/minor-caps/:region', async (req, res) => {
    const region = parseBody(capRegionPath, req.params.region);
    const caps = parseBody(minorCapsBody, req.body);
    res.json(await putMinorCaps(database, region, caps, actorOf(res).actor));
  });

  router.get('/v1/admin/risk/blacklist', async (_req, res) => {
    res.json({ entries: await listBlacklist(db, keyring()) });
  });

  router.put('/v1/admin/risk/blacklist/:kind/:value', async (req, res) => {
    const { kind, value } = blacklistPath(req.params);
    const { reason, expiresAt } = parseBody(blacklistBody, req.body ?? {});
    if (expiresAt !== undefined && new Date(expiresAt).getTime() <= Date.now()) {
      throw new ApiError(400, 'VALIDATION_ERROR', 'the request is invalid', { issues: [{ path: 'expiresAt', message: 'must lie in the future' }] });
    }
    const saved = await putBlacklistEntry(
      database,
      keyring(),
      { kind, value, reason, expiresAt: expiresAt === undefined ? undefined : new Date(expiresAt) },
      actorOf(res).actor,
    );
    res.json({ ...saved, reason, ...(expiresAt !== undefined && { expiresAt: new Date(expiresAt).toISOString() }) });
  });

  router.delete('/v1/admin/risk/blacklist/:kind/:value', async (req, res) => {
    const { kind, value } = blacklistPath(req.params);
    await removeBlacklistEntry(database, keyring(), kind, value, actorOf(res).actor);
    res.status(204).end();
  });

  router.get('/v1/admin/risk/aml-reports', async (req, res) => {
    const q = parseBody(amlReportQuery, req.query);
    const from = new Date(q.from);
    const to = new Date(q.to);
    if (from >= to) {
      throw new ApiError(400, 'VALIDATION_ERROR', 'the request is invalid', { issues: [{ path: 'to', message: 'the range is empty: to must come after from' }] });
    }
    if (to.getTime() - from.getTime() > MAX_AML_REPORT_DAYS * 86_400_000) {
      throw new ApiError(422, 'RANGE_TOO_LONG', `at most ${MAX_AML_REPORT_DAYS} days per report`);
    }
    const reports = await amlReport(database.sql, { from: from.toISOString(), to: to.toISOString() });
    if (q.format === 'csv') {
      const columns = ['orderId', 'gameId', 'userId', 'currency', 'amount', 'ruleId', 'kind', 'decision', 'operatorDecision', 'decidedAt'];
      const rows = reports.map((r) => ({ ...r, currency: r.amount.currency, amount: r.amount.value }));
      res.type('text/csv; charset=utf-8').set('Content-Disposition', 'attachment; filename="aml-report.csv"');
      return void res.send(csvOf(columns, rows));
    }
    res.json({ reports });
  });

  /** The entry's kind and value, the value of its kind (an IP address, a CIDR block) or 400. */
  function blacklistPath(params: Record<string, string | undefined>) {
    const kind = parseBody(blacklistKind, params.kind);
    const value = parseBody(blacklistValue, params.value);
    if (!blacklistLookup(keyring(), kind, value)) {
      const expected = kind === 'IP' ? 'an IPv4 or IPv6 address' : 'a CIDR block such as 10.0.0.0/8 (host bits zero)';
      throw new ApiError(400, 'VALIDATION_ERROR', 'the request is invalid', { issues: [{ path: 'value', message: `must be ${expected}` }] });
    }
    return { kind, value };
  }

  return router;
}
