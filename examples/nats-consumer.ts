import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { booksInMemory, handle, messageSigned, type GameBooks } from './shared';

/**
 * A game server's consumer of NATS JetStream deliveries and revocations: a durable consumer on each
 * of the game's two subjects of stream PAYMENT_DELIVERIES; each message verified, granted (revoked) once,
 * acknowledged over REST, then acked on the broker. Run: GAME_ID=… GAME_SECRET=… API_URL=… NATS_URL=… tsx examples/nats-consumer.ts
 */
export interface ConsumerOptions {
  natsUrl: string;
  apiUrl: string;
  game: { gameId: string; secret: string };
  books: GameBooks;
}

export async function startNatsConsumer({ natsUrl, apiUrl, game, books }: ConsumerOptions): Promise<{ stop(): Promise<void> }> {
  const nc = await connect({ servers: natsUrl, maxReconnectAttempts: -1 });
  const jsm = await jetstreamManager(nc);
  // The payment center's worker creates the stream on its first publish: wait for it.
  while (!(await jsm.streams.info('PAYMENT_DELIVERIES').catch(() => undefined))) await new Promise((r) => setTimeout(r, 1_000));
  const consumers: { messages: ConsumerMessages; done: Promise<void> }[] = [];
  for (const kind of ['delivery', 'revocation'] as const) {
    const subject = `payments.${kind === 'delivery' ? 'deliveries' : 'revocations'}.${game.gameId}`;
    const durable = `game-${game.gameId}-${kind}`;
    // Created once, kept across restarts: messages published while the game is down wait in it.
    await jsm.consumers.add('PAYMENT_DELIVERIES', {
      durable_name: durable,
      filter_subject: subject,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: 30_000_000_000, // 30 s in nanoseconds: unacked messages come again
    });
    const messages = await (await jetstream(nc).consumers.get('PAYMENT_DELIVERIES', durable)).consume();
    const done = (async () => {
      for await (const m of messages) {
        if (!messageSigned(game.secret, m.subject, (name) => m.headers?.get(name), Buffer.from(m.data))) {
          m.term(); // not from the payment center: never again
          continue;
        }
        const acked = await handle(apiUrl, game, books, { kind, body: m.json() }).catch(() => false);
        if (acked) m.ack();
        else m.nak(1_000); // the center was unavailable: again in a second
      }
    })();
    consumers.push({ messages, done });
  }
  return {
    async stop() {
      for (const { messages, done } of consumers) {
        await messages.close();
        await done;
      }
      await nc.close();
    },
  };
}

if (require.main === module) {
  const env = (name: string) => process.env[name] ?? (() => { throw new Error(`${name} is required`); })();
  void startNatsConsumer({
    natsUrl: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
    apiUrl: process.env.API_URL ?? 'http://127.0.0.1:3000',
    game: { gameId: env('GAME_ID'), secret: env('GAME_SECRET') },
    books: booksInMemory(async (d) => (console.log('grant', d.deliveryId, d.grants), 'GRANTED'), async (r) => console.log('revoke', r.revocationId)),
  });
}
