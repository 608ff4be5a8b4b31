import { timingSafeEqual } from 'node:crypto';
import express, { type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import { mayCall, type OperatorToken } from '../domain/operators';
import { MIN_NONCE_LENGTH, type SignatureCheck, checkSignedRequest } from '../domain/signature';
import type { Config } from '../infra/config';
import type { Database } from '../infra/db';
import type { CatalogReader, OpenGame } from '../store/catalog';
import { useNonce } from '../store/nonces';
import { principalOf } from './console/session';
import { ApiError } from './errors';
import { takeGameLimit } from './rate-limit';
import { requireJsonBody } from './shared/body';

const BODY_LIMIT = '64kb';
const GAME_ID = /^[A-Za-z0-9_][A-Za-z0-9._:-]{0,63}$/;
/** At least MIN_NONCE_LENGTH printable ASCII characters, at most 128 (it is stored). */
const NONCE = new RegExp(`^[\\x21-\\x7e]{${MIN_NONCE_LENGTH},128}$`);

export { OPERATOR_ROLES, mayCall, rolesFor, type OperatorRole, type OperatorToken } from '../domain/operators';

/** Who calls an operator route: the token's name and role, and the `X-Operator` it acts for, if any. */
export interface Operator {
  name: string;
  role: OperatorToken['role'];
  shared: boolean;
  onBehalfOf?: string;
}

/** `X-Operator`: free text, never empty, length-capped (it is stored in the audit). */
export const operatorHeaderSchema = z.string().trim().min(1).max(128);

/** The operator token a bearer header (`Bearer <token>`) carries, if any. */
export function tokenOf(tokens: readonly OperatorToken[], authorization: string | undefined): OperatorToken | undefined {
  const given = Buffer.from(authorization ?? '');
  let found: OperatorToken | undefined;
  // Every token is compared, in constant time each, so timing tells nothing of which one matched.
  for (const t of tokens) {
    const expected = Buffer.from(`Bearer ${t.token}`);
    if (given.length === expected.length && timingSafeEqual(given, expected) && !found) found = t;
  }
  return found;
}

/**
 * Operator routes: a missing or unknown bearer token answers 401, a token of a role that may not call
 * the path 403, both before the body is read. The caller is then `operatorOf(res)`.
 */
export function operatorAuth(config: Pick<Config, 'OPERATOR_TOKENS'>): RequestHandler {
  return (req, res, next) => {
    const path = req.baseUrl + req.path;
    const principal = principalOf(res); // signed in to the console (api/console/session.ts)
    if (principal) {
      if (!mayCall(principal.role, path)) throw new ApiError(403, 'FORBIDDEN', `the ${principal.role} role may not call ${path}`, { role: principal.role });
      res.locals.operator = { name: principal.name, role: principal.role, shared: false } satisfies Operator;
      return next();
    }
    const token = tokenOf(config.OPERATOR_TOKENS, req.get('authorization'));
    if (!token) throw new ApiError(401, 'UNAUTHORIZED', 'a valid operator bearer token is required');
    if (!mayCall(token.role, path)) throw new ApiError(403, 'FORBIDDEN', `the ${token.role} role may not call ${path}`, { role: token.role });
    const header = req.get('x-operator');
    let onBehalfOf: string | undefined;
    if (header !== undefined) {
      const parsed = operatorHeaderSchema.safeParse(header);
      if (!parsed.success) throw new ApiError(400, 'VALIDATION_ERROR', 'X-Operator must be 1 to 128 characters', { field: 'X-Operator' });
      onBehalfOf = parsed.data;
    }
    const operator: Operator = { name: token.name, role: token.role, shared: token.shared, ...(onBehalfOf && { onBehalfOf }) };
    res.locals.operator = operator;
    next();
  };
}

export const operatorOf = (res: Response): Operator => res.locals.operator as Operator;

/**
 * Who acted, for the audit: a named token is the actor (X-Operator only says on whose behalf); the
 * shared ADMIN_TOKEN names nobody, so its X-Operator is the actor (`admin` when absent, or refused
 * when `required`).
 */
export function actorOf(res: Response, { required = false } = {}): { actor: string; onBehalfOf?: string } {
  const operator = operatorOf(res);
  if (!operator.shared) return { actor: operator.name, ...(operator.onBehalfOf && { onBehalfOf: operator.onBehalfOf }) };
  if (operator.onBehalfOf) return { actor: operator.onBehalfOf };
  if (required) throw new ApiError(400, 'VALIDATION_ERROR', 'the X-Operator header must name who acts (the shared ADMIN_TOKEN names nobody)', { field: 'X-Operator' });
  return { actor: 'admin' };
}

/** Why a signed request was refused: `error.details.reason` of its 401, so a game server can tell what to fix. */
export type SignedRequestRefusal =
  | Exclude<SignatureCheck, { ok: true }>['reason']
  | 'UNKNOWN_GAME'
  | 'NONCE_REUSED';

const REFUSALS: Record<SignedRequestRefusal, string> = {
  MISSING_HEADERS: 'X-Game-Id, X-Timestamp, X-Nonce and X-Signature are required',
  UNKNOWN_GAME: 'unknown game',
  BAD_TIMESTAMP: 'X-Timestamp must be unix seconds',
  CLOCK_SKEW: 'X-Timestamp is too far from the server clock',
  BAD_NONCE: `X-Nonce must be ${MIN_NONCE_LENGTH} to 128 printable ASCII characters`,
  BAD_SIGNATURE: 'the signature does not match',
  NONCE_REUSED: 'X-Nonce was already used: sign every attempt with a new nonce',
};

const refused = (reason: SignedRequestRefusal) => new ApiError(401, 'UNAUTHORIZED', REFUSALS[reason], { reason });

export interface SignedLocals {
  game: OpenGame;
}

/**
 * Authenticates a game server: HMAC signature over the raw body, bounded clock skew, and a nonce
 * that may be used once. Parses the JSON body only after the signature holds.
 */
export function signedGameRequest({
  database,
  config,
  catalog,
}: {
  database: Database;
  config: Config;
  catalog: CatalogReader;
}): RequestHandler[] {
  const verify: RequestHandler = async (req, res, next) => {
    requireJsonBody(req);
    const gameId = req.get('x-game-id');
    if (!gameId) throw refused('MISSING_HEADERS');
    // Shapes first: what cannot be a game id or a nonce never reaches the database.
    if (!GAME_ID.test(gameId)) throw refused('UNKNOWN_GAME');
    const nonce = req.get('x-nonce');
    if (nonce !== undefined && !NONCE.test(nonce)) throw refused('BAD_NONCE');
    const game = await catalog.game(gameId);
    if (!game) throw refused('UNKNOWN_GAME');
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const request = { method: req.method, pathWithQuery: req.originalUrl, timestamp: req.get('x-timestamp'), nonce: req.get('x-nonce'), body: rawBody };
    const now = Math.floor(Date.now() / 1000);
    // During a rotation either secret signs; every check but the signature's is the same for both.
    const checks = game.secrets.map((secret) => checkSignedRequest(secret, request, req.get('x-signature'), now, config.SIGNATURE_MAX_SKEW_SECONDS));
    const check = checks.find((c) => c.ok) ?? checks[0]!;
    if (!check.ok) throw refused(check.reason);
    // After the signature (only the game itself spends its budget), before the nonce (a refused call keeps it).
    await takeGameLimit(res, gameId);
    if (!(await useNonce(database.db, gameId, req.get('x-nonce')!))) throw refused('NONCE_REUSED');
    if (rawBody.length) {
      try {
        req.body = JSON.parse(rawBody.toString('utf8'));
      } catch {
        throw new ApiError(400, 'VALIDATION_ERROR', 'the body is not valid JSON');
      }
    } else {
      req.body = {};
    }
    (res.locals as SignedLocals).game = game;
    next();
  };
  return [express.raw({ type: () => true, limit: BODY_LIMIT }), verify];
}

