import { appendFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { checkSignedRequest } from '../domain/signature';

/**
 * A stand-in game server for development: verifies our delivery signature, grants each deliveryId
 * once and appends what it granted to a log file, as a real game server would record it.
 */
export function startDemoGameServer(opts: { port: number; secret: string; logFile: string; log: (m: string) => void }) {
  const granted = new Set<string>();
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const check = checkSignedRequest(
      opts.secret,
      {
        method: req.method ?? '',
        pathWithQuery: req.url ?? '',
        timestamp: req.headers['x-timestamp'] as string | undefined,
        nonce: req.headers['x-nonce'] as string | undefined,
        body,
      },
      req.headers['x-signature'] as string | undefined,
      Math.floor(Date.now() / 1000),
      300,
    );
    if (!check.ok) {
      res.writeHead(401, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: check.reason }));
      return;
    }
    const delivery = JSON.parse(body.toString('utf8')) as { deliveryId: string; orderId: string; userId: string };
    if (!granted.has(delivery.deliveryId)) {
      granted.add(delivery.deliveryId);
      appendFileSync(opts.logFile, `${JSON.stringify({ at: new Date().toISOString(), ...delivery })}\n`);
      opts.log(`demo game server granted order ${delivery.orderId} to ${delivery.userId}`);
    }
    res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}');
  });
  return new Promise<Server>((resolve) => server.listen(opts.port, '127.0.0.1', () => resolve(server)));
}
