import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { Router, type RequestHandler } from 'express';
import type { Config } from '../../infra/config';
import type { Database } from '../../infra/db';
import { endSession, liveSession, openSession } from '../../store/console-sessions';
import { ApiError, parseBody } from '../errors';
import { jsonBody } from '../shared/body';
import { permissionsOf, type Role } from './roles';
import { SESSION_COOKIE, signInBody } from './schemas';
import { tokenOf } from '../auth';
import { cookieOf, newSessionSecret, sameOrigin, sessionId } from './session';

/** Where `npm run build:console` writes the console (hashed assets and index.html). */
export const CONSOLE_DIST = join(__dirname, '..', '..', 'console', 'dist');
export const CONSOLE_PATH = '/console';

/** The console's sign-in (the admin token exchanged once for an HttpOnly cookie) and its static files. */
export function consoleRouter({ database, config }: { database: Database; config: Config }): Router {
  const { db } = database;
  const router = Router();
  router.use('/v1/console', ...jsonBody('4kb'));

  const cookie = (value: string, maxAgeSeconds: number, secure: boolean) =>
    `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;

  router.post('/v1/console/session', async (req, res) => {
    if (req.get('origin') !== undefined && !sameOrigin(req)) throw new ApiError(403, 'FORBIDDEN', 'sign in from the console itself');
    const { token, operator } = parseBody(signInBody, req.body ?? {});
    const found = tokenOf(config.OPERATOR_TOKENS, `Bearer ${token}`);
    if (!found) throw new ApiError(401, 'UNAUTHORIZED', 'the operator token is not valid');
    // A named token (ADMIN_TOKENS) is its operator; the shared ADMIN_TOKEN takes the name given at sign-in.
    if (found.shared && !operator) throw new ApiError(400, 'VALIDATION_ERROR', 'the shared admin token names nobody: give the operator name', { field: 'operator' });
    const name = found.shared ? operator! : found.name;
    const role: Role = found.role;
    const secret = newSessionSecret();
    const expiresAt = new Date(Date.now() + config.CONSOLE_LOGIN_TTL * 1000);
    await openSession(db, { id: sessionId(secret), operator: name, role, expiresAt });
    res.setHeader('Set-Cookie', cookie(secret, config.CONSOLE_LOGIN_TTL, req.secure));
    res.json({ name, role, permissions: permissionsOf(role), expiresAt: expiresAt.toISOString() });
  });

  router.get('/v1/console/session', async (req, res) => {
    const secret = cookieOf(req);
    const session = secret ? await liveSession(db, sessionId(secret), new Date()) : null;
    if (!session) throw new ApiError(401, 'UNAUTHORIZED', 'not signed in');
    const role = session.role as Role;
    res.json({ name: session.operator, role, permissions: permissionsOf(role), expiresAt: session.expiresAt.toISOString() });
  });

  router.delete('/v1/console/session', async (req, res) => {
    const secret = cookieOf(req);
    if (secret) await endSession(db, sessionId(secret));
    res.setHeader('Set-Cookie', cookie('', 0, req.secure));
    res.status(204).end();
  });

  if (existsSync(CONSOLE_DIST)) {
    // Hashed names never change content: cached for a year; index.html is asked again every time.
    const assets = join(CONSOLE_DIST, 'assets');
    router.use(`${CONSOLE_PATH}/assets`, precompressed(assets), express.static(assets, { immutable: true, maxAge: '365d', fallthrough: false }));
    router.use(CONSOLE_PATH, (req, res, next) => {
      if (req.method !== 'GET' && req.method !== 'HEAD') return next();
      res.setHeader('Cache-Control', 'no-cache');
      res.setHeader('Content-Security-Policy', "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'");
      res.sendFile(join(CONSOLE_DIST, 'index.html'));
    });
  }
  return router;
}

/** Brotli, then gzip: the encodings the console's build writes beside each script and stylesheet. */
const ENCODINGS = [
  ['br', '.br'],
  ['gzip', '.gz'],
] as const;

/**
 * Serves a script or stylesheet as the compressed copy the build wrote (vite.config.mts), when the
 * browser takes its encoding: no compression per request, and a third of the bytes to fetch.
 */
function precompressed(dir: string): RequestHandler {
  return (req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !/^\/[\w.-]+\.(js|css)$/.test(req.path)) return next();
    const encoding = ENCODINGS.find(([name, ext]) => req.acceptsEncodings(name) === name && existsSync(join(dir, req.path + ext)));
    if (!encoding) return next();
    res.setHeader('Content-Type', req.path.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8');
    res.setHeader('Content-Encoding', encoding[0]);
    res.setHeader('Vary', 'Accept-Encoding');
    res.sendFile(join(dir, req.path + encoding[1]), { immutable: true, maxAge: '365d' });
  };
}
