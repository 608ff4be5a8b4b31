import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { ServiceError, WorkflowUpdateRPCTimeoutOrCancelledError, isGrpcServiceError } from '@temporalio/client';
import { z } from 'zod';
import { databaseErrorKind } from '../infra/db';

/** Every error answer: `{ error: { code, message, details? } }` with a machine-readable code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    /** Headers the answer carries (429's Retry-After). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

/** Each issue names its field; an unknown field is an issue of its own (a typo is never silently dropped). */
export function validationError(error: z.ZodError): ApiError {
  return new ApiError(400, 'VALIDATION_ERROR', 'the request is invalid', {
    issues: error.issues.flatMap((i) =>
      i.code === 'unrecognized_keys'
        ? i.keys.map((key) => ({ path: [...i.path, key].join('.'), message: 'unknown field' }))
        : [{ path: i.path.join('.'), message: i.message }],
    ),
  });
}

export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw validationError(parsed.error);
  return parsed.data;
}

export const notFoundRoute: RequestHandler = (req) => {
  throw new ApiError(404, 'ROUTE_NOT_FOUND', `no route for ${req.method} ${req.path}`);
};

const CLIENT_ERROR_CODES: Record<number, string> = { 413: 'PAYLOAD_TOO_LARGE', 415: 'UNSUPPORTED_MEDIA_TYPE' };

/** body-parser's messages are safe to show; anything else gets a generic one. */
function clientErrorMessage(err: { type?: unknown; message?: unknown }): string {
  if (err.type === 'entity.parse.failed') return 'the body is not valid JSON';
  return typeof err.type === 'string' && typeof err.message === 'string' ? err.message : 'the request is invalid';
}

export function errorHandler(log: Pick<Logger, 'error' | 'warn'>): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    if (err instanceof ApiError) {
      if (err.headers) res.set(err.headers);
      res.status(err.status).json({ error: { code: err.code, message: err.message, details: err.details } });
      return;
    }
    // body-parser and router errors (bad JSON, too large, unsupported charset, bad URI) carry their own status.
    const status = typeof err?.status === 'number' && err.status >= 400 && err.status < 500 ? err.status : undefined;
    if (status) {
      res.status(status).json({ error: { code: CLIENT_ERROR_CODES[status] ?? 'VALIDATION_ERROR', message: clientErrorMessage(err) } });
      return;
    }
    if (isDependencyOutage(err)) {
      log.warn({ err }, 'dependency unavailable');
      res.status(503).json({
        error: { code: 'TEMPORARILY_UNAVAILABLE', message: 'a backing service is unavailable; retry with the same Idempotency-Key' },
      });
      return;
    }
    log.error({ err }, 'unhandled error');
    res.status(500).json({ error: { code: 'INTERNAL', message: 'internal error' } });
  };
}

/** PostgreSQL, Temporal or the workers cannot be reached: the client should retry, nothing was decided. */
export function isDependencyOutage(err: unknown): boolean {
  if (err instanceof ServiceError || isGrpcServiceError(err)) return true;
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return true; // no worker answered in time
  return databaseErrorKind(err) === 'UNAVAILABLE';
}
