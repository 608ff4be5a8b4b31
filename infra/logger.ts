import pino, { type Logger } from 'pino';
import type { Config } from './config';

export function createLogger(config: Pick<Config, 'LOG_LEVEL' | 'NODE_ENV'>, name: string): Logger {
  return pino({
    name,
    level: config.LOG_LEVEL,
    redact: {
      paths: ['secret', '*.secret', 'req.headers.authorization', 'req.headers["x-signature"]', 'privateKey'],
      censor: '[redacted]',
    },
  });
}
