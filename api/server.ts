import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { Client, Connection } from '@temporalio/client';
import { HEALTH_REFRESH_MS, openChannelHealth } from '../routing/channel-health';
import { startChannelRegistry } from '../routing/channel-accounts';
import { loadConfig, reportStartupFailure, type Config } from '../infra/config';
import { watchConfigChanges } from '../infra/config-changes';
import { openDatabase, type Database } from '../infra/db';
import { credentialsKeyring } from '../infra/credentials';
import { createLogger } from '../infra/logger';
import { sealLegacyGameSecrets } from '../store/catalog';
import { ReconciliationClient } from '../infra/reconciliation';
import { PurchasesClient } from '../infra/temporal';
import { temporalConnectionOptions } from '../infra/temporal-connection';
import { startSandboxNotifier } from '../sandbox/notifier';
import { createApp } from './app';
import { purgeExpiredNonces } from '../store/nonces';

export interface RunningApi {
  server: Server;
  url: string;
  stop(): Promise<void>;
}

/** Starts the HTTP API (and the sandbox provider's notifier when the sandbox is on). */
export async function startApi(
  config: Config,
  database: Database,
  connection: Connection,
  log: Logger = createLogger(config, 'api'),
): Promise<RunningApi> {
  const sealed = await sealLegacyGameSecrets(database.db, credentialsKeyring(config));
  if (sealed) log.info({ games: sealed }, 'sealed the plaintext secrets of games written before secrets were encrypted');
  const changes = watchConfigChanges(config.DATABASE_URL, log);
  const channels = await startChannelRegistry(config, database, changes, log);
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const purchases = new PurchasesClient(client, config.TEMPORAL_TASK_QUEUE, config.WORKFLOW_ANSWER_TIMEOUT_MS);
  const lifecycle = { draining: false };
  const reconciliations = new ReconciliationClient(client, config);
  const health = openChannelHealth(config, database, { refreshMs: HEALTH_REFRESH_MS, log });
  await health.refresh();
  const app = createApp({ database, config, channels, purchases, reconciliations, health, log, lifecycle, changes });
  const notifier = config.SANDBOX_ENABLED ? startSandboxNotifier({ database, config, log }) : undefined;
  const purge = setInterval(() => purgeExpiredNonces(database.db, config.SIGNATURE_MAX_SKEW_SECONDS).catch((err) => log.warn({ err }, 'nonce purge')), 60_000);
  purge.unref();

  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(config.PORT, '0.0.0.0', () => resolve(s));
  });
  server.on('clientError', answerClientError);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.PORT;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    async stop() {
      lifecycle.draining = true;
      clearInterval(purge);
      await new Promise((resolve) => setTimeout(resolve, config.SHUTDOWN_DRAIN_MS));
      // Stop accepting, let in-flight requests finish, drop idle keep-alive connections.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await closed;
      await notifier?.stop();
      await changes.close();
      await health.close();
    },
  };
}

/**
 * What Node's HTTP parser refuses (headers over its limit, a malformed request line, an unknown
 * method) never reaches express; it still gets the documented JSON error shape where the socket allows.
 */
const PARSER_ERRORS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'HEADERS_TOO_LARGE', 'the request headers are too large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'REQUEST_TIMEOUT', 'the request took too long to arrive'],
};
const STATUS_LINES: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex) {
  if (!socket.writable || (err.code === 'ECONNRESET' && !socket.readable)) {
    socket.destroy();
    return;
  }
  const [status, code, message] = PARSER_ERRORS[err.code ?? ''] ?? [400, 'MALFORMED_REQUEST', 'the request is not valid HTTP/1.1'];
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_LINES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

async function main() {
  const config = loadConfig();
  const log = createLogger(config, 'api');
  const database = openDatabase(config.DATABASE_URL, config.DATABASE_POOL_SIZE);
  const connection = await Connection.connect(temporalConnectionOptions(config));
  const api = await startApi(config, database, connection, log);
  log.info({ url: api.url }, 'api listening');
  const shutdown = async (signal: string) => {
    log.info({ signal }, 'api shutting down');
    await api.stop();
    await connection.close();
    await database.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

if (require.main === module) {
  main().catch(reportStartupFailure);
}
