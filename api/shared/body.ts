import express, { type Request, type RequestHandler } from 'express';
import { ApiError } from '../errors';

/**
 * JSON bodies only, in UTF-8 (RFC 8259): anything else is refused with 415 before it is read, so a
 * body never reaches a route in a shape the route did not ask for.
 */
export function requireJsonBody(req: Request): void {
  if (!hasBody(req)) return;
  const type = req.get('content-type') ?? '';
  const [mediaType, ...params] = type.split(';').map((part) => part.trim().toLowerCase());
  const charset = params.find((p) => p.startsWith('charset='))?.slice('charset='.length).replace(/"/g, '');
  if (mediaType !== 'application/json' || (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')) {
    throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json in UTF-8');
  }
}

function hasBody(req: Request): boolean {
  return req.get('transfer-encoding') !== undefined || Number(req.get('content-length') ?? 0) > 0;
}

/** Refuses non-JSON bodies (415), then parses JSON up to `limit`. */
export function jsonBody(limit: string): RequestHandler[] {
  return [
    (req, _res, next) => {
      requireJsonBody(req);
      next();
    },
    express.json({ limit }),
  ];
}
