import type { ConfirmChannel } from 'amqplib';
import { BROKER_TOPICS } from '../domain/fulfillment/modes';
import type { RabbitBroker } from '../infra/brokers/rabbitmq';
import { publishWithin, signedMessage } from './broker';
import type { GameServerAnswer, GameServerCall, TransportDefinition } from './types';

/**
 * A game-server call as a persistent message on the durable topic exchange `payments.deliveries` (or
 * `payments.revocations`), routing key the game id, `message-id` the attempt's, publisher-confirmed.
 * The durable queue `<exchange>.<gameId>` is bound here, so messages wait while the game's consumer is down.
 */
export const rabbitmqTransport: TransportDefinition = {
  name: 'rabbitmq',
  mode: 'RABBITMQ',
  protocols: [],
  create: ({ rabbit }) => ({ send: (call) => publish(rabbit, call) }),
};

export const rabbitQueue = (call: Pick<GameServerCall, 'kind' | 'gameId'>) => `${BROKER_TOPICS[call.kind]}.${call.gameId}`;

/** Exchanges and queues declared on each channel (a new channel after a broker restart declares again). */
const declared = new WeakMap<ConfirmChannel, Set<string>>();

async function declare(channel: ConfirmChannel, call: GameServerCall): Promise<void> {
  const done = declared.get(channel) ?? new Set<string>();
  declared.set(channel, done);
  const queue = rabbitQueue(call);
  if (done.has(queue)) return;
  const exchange = BROKER_TOPICS[call.kind];
  await channel.assertExchange(exchange, 'topic', { durable: true });
  await channel.assertQueue(queue, { durable: true });
  await channel.bindQueue(queue, exchange, call.gameId);
  done.add(queue);
}

function publish(rabbit: RabbitBroker, call: GameServerCall): Promise<GameServerAnswer> {
  const exchange = BROKER_TOPICS[call.kind];
  return publishWithin(call, 'RabbitMQ', async () => {
    const channel = await rabbit.confirmChannel();
    await declare(channel, call);
    const { body, headers } = signedMessage(call, `${exchange}/${call.gameId}`);
    await new Promise<void>((resolve, reject) => {
      channel.publish(
        exchange,
        call.gameId,
        body,
        { persistent: true, contentType: 'application/json', headers, ...(call.messageId && { messageId: call.messageId }) },
        (err: unknown) => (err ? reject(err instanceof Error ? err : new Error('the broker refused the message (nack)')) : resolve()),
      );
    });
  });
}
