import { Router } from 'express';
import type { Config } from '../../infra/config';
import type { Database } from '../../infra/db';
import { listAudit } from '../../store/audit';
import { operatorAuth } from '../auth';
import { ApiError, parseBody } from '../errors';
import { auditQuery } from './schemas';

/** The operators' audit trail, newest first (admin only). */
export function auditRouter({ database, config }: { database: Database; config: Config }): Router {
  const router = Router();
  router.get('/v1/admin/audit', operatorAuth(config), async (req, res) => {
    const q = parseBody(auditQuery, req.query);
    const since = q.since === undefined ? undefined : new Date(q.since);
    const until = q.until === undefined ? undefined : new Date(q.until);
    if (since && until && since >= until) {
      throw new ApiError(400, 'VALIDATION_ERROR', 'the request is invalid', { issues: [{ path: 'until', message: 'until must come after since' }] });
    }
    res.json({ entries: await listAudit(database.sql, { since, until, limit: q.limit }) });
  });
  return router;
}
