import { randomUUID } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import type { Logger } from 'pino';

const REQUEST_ID = /^[\w.:-]{1,64}$/;

/**
 * Gives every request an id (the caller's `X-Request-Id` when it is sane) echoed in the response,
 * a child logger carrying it, and one access-log line when the response is sent.
 */
export function requestContext(log: Logger): RequestHandler {
  return (req, res, next) => {
    const given = req.get('x-request-id');
    const requestId = given && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader('X-Request-Id', requestId);
    res.locals.requestId = requestId;
    res.locals.log = log.child({ requestId });
    const started = performance.now();
    res.on('finish', () => {
      requestLog(res).info(
        {
          method: req.method,
          path: req.baseUrl + req.path,
          status: res.statusCode,
          durationMs: Math.round(performance.now() - started),
        },
        'request',
      );
    });
    next();
  };
}

export const requestLog = (res: Response): Logger => res.locals.log as Logger;
export const requestIdOf = (res: Response): string => res.locals.requestId as string;
