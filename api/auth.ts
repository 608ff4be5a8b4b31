import { timingSafeEqual } from 'node:crypto';
import express, { type RequestHandler } from 'express';
import { MIN_NONCE_LENGTH, type SignatureCheck, checkSignedRequest } from '../domain/signature';
import type { Config } from '../infra/config';
import type { Database } from '../infra/db';
import type { CatalogReader, OpenGame } from '../store/catalog';
import { useNonce } from '../store/nonces';
import { principalOf } from './console/session';
import { ApiError } from './errors';
import { requireJsonBody } from './shared/body';

const BODY_LIMIT = '64kb';
const GAME_ID = /^[A-Za-z0-9_][A-Za-z0-9._:-]{0,63}$/;
/** At least MIN_NONCE_LENGTH printable ASCII characters, at most 128 (it is stored). */
const NONCE = new RegExp(`^[\\x21-\\x7e]{${MIN_NONCE_LENGTH},128}$`);

export function adminAuth(config: Pick<Config, 'ADMIN_TOKEN'>): RequestHandler {
  const expected = Buffer.from(`Bearer ${config.ADMIN_TOKEN}`);
  return (req, res, next) => {
    if (principalOf(res)) return next(); // signed in to the console (api/console/session.ts)
    const given = Buffer.from(req.get('authorization') ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new ApiError(401, 'UNAUTHORIZED', 'a valid admin bearer token is required');
    }
    next();
  };
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
    const check = checkSignedRequest(
      game.secret,
      {
        method: req.method,
        pathWithQuery: req.originalUrl,
        timestamp: req.get('x-timestamp'),
        nonce: req.get('x-nonce'),
        body: rawBody,
      },
      req.get('x-signature'),
      Math.floor(Date.now() / 1000),
      config.SIGNATURE_MAX_SKEW_SECONDS,
    );
    if (!check.ok) throw refused(check.reason);
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

