import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * What both reference consumers share: docs/signing.md (check a message's signature, sign the REST
 * ack) and the handling of one message. Copy this file with the consumer you use; it needs only Node.
 */

const stringToSign = (method: string, path: string, timestamp: string, nonce: string, body: Buffer | string) =>
  [method, path, timestamp, nonce, createHash('sha256').update(body).digest('hex')].join('\n');

const hmac = (secret: string, text: string) => createHmac('sha256', secret).update(text).digest('hex');

/**
 * A broker message is signed as a call with METHOD `PUBLISH` and PATH its NATS subject, or
 * `<exchange>/<routingKey>` on RabbitMQ. Its age is not checked: a message read later is older.
 */
export function messageSigned(secret: string, path: string, header: (name: string) => string | undefined, body: Buffer): boolean {
  const expected = Buffer.from(hmac(secret, stringToSign('PUBLISH', path, header('X-Timestamp') ?? '', header('X-Nonce') ?? '', body)));
  const given = Buffer.from(header('X-Signature') ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** POSTs a signed JSON body to the payment center; the status and the error code, if any. */
export async function signedPost(apiUrl: string, game: { gameId: string; secret: string }, path: string, body: unknown): Promise<{ status: number; code?: string }> {
  const raw = JSON.stringify(body);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = randomBytes(16).toString('hex');
  const res = await fetch(new URL(path, apiUrl), {
    method: 'POST',
    body: raw,
    headers: {
      'Content-Type': 'application/json',
      'X-Game-Id': game.gameId,
      'X-Timestamp': timestamp,
      'X-Nonce': nonce,
      'X-Signature': hmac(game.secret, stringToSign('POST', path, timestamp, nonce, raw)),
    },
  });
  const answer = (await res.json().catch(() => ({}))) as { error?: { code?: string } };
  return { status: res.status, code: answer.error?.code };
}

/** What the game does with a message; ids it has already processed come back with their first result. */
export interface GameBooks {
  /** Grants the delivery's goods (once per deliveryId): GRANTED, or REJECTED when the player cannot take them. */
  grant(delivery: { deliveryId: string; orderId: string; userId: string; grants: unknown }): Promise<'GRANTED' | 'REJECTED'>;
  /** Takes the goods of a revocation back (once per revocationId). */
  revoke(revocation: { revocationId: string; orderId: string; userId: string; grants: unknown }): Promise<void>;
}

export type Message = { kind: 'delivery' | 'revocation'; body: Record<string, string> & { orderId: string } };

/**
 * Handles one verified message: grant (or revoke) once, then ack over REST. True when the broker
 * message may be acked: the center has the ack, or the delivery ended without one (refunded: nothing
 * to ack, the grant shows in reconciliation). False: try again later (the center was unavailable).
 */
export async function handle(apiUrl: string, game: { gameId: string; secret: string }, books: GameBooks, { kind, body }: Message): Promise<boolean> {
  if (kind === 'delivery') {
    const result = await books.grant(body as never);
    const ack = await signedPost(apiUrl, game, `/v1/deliveries/${body.deliveryId}/ack`, { orderId: body.orderId, result });
    return ack.status === 200 || ack.code === 'DELIVERY_CLOSED' || ack.code === 'DELIVERY_ALREADY_ACKNOWLEDGED';
  }
  await books.revoke(body as never);
  const ack = await signedPost(apiUrl, game, `/v1/revocations/${body.revocationId}/ack`, { orderId: body.orderId });
  return ack.status === 200;
}

/** A game's books in memory, for trying the consumers out: each id processed once (a real game keeps this in its database). */
export function booksInMemory(onGrant: GameBooks['grant'] = async () => 'GRANTED', onRevoke: GameBooks['revoke'] = async () => undefined): GameBooks {
  const granted = new Map<string, Promise<'GRANTED' | 'REJECTED'>>();
  const revoked = new Map<string, Promise<void>>();
  return {
    grant: (delivery) => granted.get(delivery.deliveryId) ?? granted.set(delivery.deliveryId, onGrant(delivery)).get(delivery.deliveryId)!,
    revoke: (revocation) => revoked.get(revocation.revocationId) ?? revoked.set(revocation.revocationId, onRevoke(revocation)).get(revocation.revocationId)!,
  };
}
