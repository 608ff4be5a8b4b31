import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import type { Config } from './config';

/**
 * Secrets, signatures, keys and personal data never reach a log line, whatever object carries them.
 * Game user ids are pseudonymous and stay, so support can follow a player's order.
 */
const REDACTED_FIELDS = [
  'secret',
  'secrets',
  'token',
  'tokens',
  'adminToken',
  'apiToken',
  'purchaseToken',
  'ADMIN_TOKEN',
  'ADMIN_TOKENS',
  'signature',
  'privateKey',
  'privateKeyPem',
  'authorization',
  'clientIp',
  'deviceId',
  'password',
];
const REDACT_PATHS = [
  ...REDACTED_FIELDS,
  ...REDACTED_FIELDS.map((f) => `*.${f}`),
  ...REDACTED_FIELDS.map((f) => `*.*.${f}`),
  'req.headers.authorization',
  'req.headers["x-signature"]',
  'req.headers["sandbox-signature"]',
];

export function createLogger(
  config: Pick<Config, 'LOG_LEVEL' | 'NODE_ENV'>,
  name: string,
  destination?: DestinationStream,
): Logger {
  const options = { name, level: config.LOG_LEVEL, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  if (destination) return pino(options, destination);
  // Readable in a developer's terminal; JSON lines everywhere else.
  const pretty = config.NODE_ENV === 'development' && process.stdout.isTTY;
  return pino(pretty ? { ...options, transport: { target: 'pino-pretty', options: { colorize: true } } } : options);
}

/** Routes the Temporal SDK's logs (replay-safe workflow logs included) into the same JSON log. */
export function temporalLogger(log: Logger): TemporalLogger {
  const write = (level: LogLevel, message: string, meta?: LogMetadata) => {
    const method = level === 'TRACE' ? 'trace' : (level.toLowerCase() as 'debug' | 'info' | 'warn' | 'error');
    log[method](meta ?? {}, message);
  };
  return {
    log: write,
    trace: (message, meta) => write('TRACE', message, meta),
    debug: (message, meta) => write('DEBUG', message, meta),
    info: (message, meta) => write('INFO', message, meta),
    warn: (message, meta) => write('WARN', message, meta),
    error: (message, meta) => write('ERROR', message, meta),
  };
}
