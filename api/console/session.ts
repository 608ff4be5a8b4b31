import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { Config } from '../../infra/config';
import type { Database } from '../../infra/db';
import { liveSession } from '../../store/console-sessions';
import { ApiError } from '../errors';
import { SESSION_COOKIE } from './schemas';
import { isRole, type Principal } from './roles';

/** A console cookie's value; only its SHA-256 is stored. */
export const newSessionSecret = () => randomBytes(32).toString('base64url');
export const sessionId = (secret: string) => createHash('sha256').update(secret).digest('hex');

export function cookieOf(req: Request): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === SESSION_COOKIE) return value.join('=') || undefined;
  }
  return undefined;
}

export function sameOrigin(req: Request): boolean {
  const origin = req.get('origin');
  return origin !== undefined && origin === `${req.protocol}://${req.get('host')}`;
}

export const principalOf = (res: Response): Principal | undefined => (res.locals as { principal?: Principal }).principal;

export function tokenMatches(config: Pick<Config, 'ADMIN_TOKEN'>, token: string): boolean {
  const given = Buffer.from(token);
  const expected = Buffer.from(config.ADMIN_TOKEN);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A request carrying the console's cookie (and no bearer token) acts as its signed-in operator:
 * `X-Operator` is the session's name whatever the page sent, and a state-changing call must come
 * from this origin. Mounted before the admin, ops and finance routers; their `adminAuth` accepts it.
 */
export function consoleSession({ database }: { database: Database }): RequestHandler {
  return async (req, res, next) => {
    const secret = cookieOf(req);
    if (!secret || req.get('authorization') !== undefined || !/^\/v1\/(ops|finance|admin)\//.test(req.path)) return next();
    const session = await liveSession(database.db, sessionId(secret), new Date());
    if (!session || !isRole(session.role)) return next();
    if (!SAFE.has(req.method) && !sameOrigin(req)) {
      throw new ApiError(403, 'FORBIDDEN', 'a signed-in console call that changes state must come from the console itself');
    }
    (res.locals as { principal?: Principal }).principal = { name: session.operator, role: session.role };
    req.headers['x-operator'] = session.operator;
    next();
  };
}
