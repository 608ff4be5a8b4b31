import { connect } from 'amqplib';
import { booksInMemory, handle, messageSigned, type GameBooks } from './shared';

/**
 * A game server's consumer of RabbitMQ deliveries and revocations: the game's durable queues
 * `payments.deliveries.<gameId>` and `payments.revocations.<gameId>` (the worker declares and binds
 * them too); each message verified, granted (revoked) once, acknowledged over REST, then acked on the
 * broker. Run: GAME_ID=… GAME_SECRET=… API_URL=… AMQP_URL=… tsx examples/rabbitmq-consumer.ts
 */
export interface ConsumerOptions {
  amqpUrl: string;
  apiUrl: string;
  game: { gameId: string; secret: string };
  books: GameBooks;
}

export async function startRabbitConsumer({ amqpUrl, apiUrl, game, books }: ConsumerOptions): Promise<{ stop(): Promise<void> }> {
  const connection = await connect(amqpUrl);
  const channel = await connection.createChannel();
  await channel.prefetch(16);
  for (const [exchange, kind] of [['payments.deliveries', 'delivery'], ['payments.revocations', 'revocation']] as const) {
    const queue = `${exchange}.${game.gameId}`;
    await channel.assertExchange(exchange, 'topic', { durable: true });
    await channel.assertQueue(queue, { durable: true });
    await channel.bindQueue(queue, exchange, game.gameId);
    await channel.consume(queue, (m) => {
      if (!m) return;
      const path = `${m.fields.exchange}/${m.fields.routingKey}`;
      const headers = (m.properties.headers ?? {}) as Record<string, unknown>;
      if (!messageSigned(game.secret, path, (name) => headers[name]?.toString(), m.content)) return channel.nack(m, false, false); // never again
      void handle(apiUrl, game, books, { kind, body: JSON.parse(m.content.toString()) })
        .catch(() => false)
        // The center was unavailable: back on the queue after a second.
        .then((acked) => (acked ? channel.ack(m) : setTimeout(() => channel.nack(m, false, true), 1_000)));
    });
  }
  return {
    async stop() {
      await channel.close().catch(() => undefined);
      await connection.close().catch(() => undefined);
    },
  };
}

if (require.main === module) {
  const env = (name: string) => process.env[name] ?? (() => { throw new Error(`${name} is required`); })();
  void startRabbitConsumer({
    amqpUrl: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    apiUrl: process.env.API_URL ?? 'http://127.0.0.1:3000',
    game: { gameId: env('GAME_ID'), secret: env('GAME_SECRET') },
    books: booksInMemory(async (d) => (console.log('grant', d.deliveryId, d.grants), 'GRANTED'), async (r) => console.log('revoke', r.revocationId)),
  });
}
