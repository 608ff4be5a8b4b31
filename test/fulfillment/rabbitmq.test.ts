import { connect } from 'amqplib';
import { BROKER_TOPICS } from '../../domain/fulfillment/modes';
import { rabbitmqTransport } from '../../fulfillment/rabbitmq';
import { CLOSED_PORT, TEST_AMQP_URL, transportDeps } from '../support/brokers';
import { localEgress } from '../support/egress';
import { collected, describeTransportConformance, type ReceivedCall } from './conformance';

const GAME_ID = 'brokers-conformance-rabbitmq';

/** A game's consumer on the machine's RabbitMQ: its durable queues, every message acked and kept as it arrived. */
async function startConsumer(gameId: string) {
  const connection = await connect(TEST_AMQP_URL);
  const channel = await connection.createChannel();
  const all: ReceivedCall[] = [];
  for (const exchange of Object.values(BROKER_TOPICS)) {
    const queue = `${exchange}.${gameId}`;
    await channel.assertExchange(exchange, 'topic', { durable: true });
    await channel.assertQueue(queue, { durable: true });
    await channel.bindQueue(queue, exchange, gameId);
    await channel.consume(queue, (message) => {
      if (!message) return;
      const headers: Record<string, string> = {};
      for (const [key, value] of Object.entries(message.properties.headers ?? {})) headers[key.toLowerCase()] = String(value);
      all.push({ method: 'PUBLISH', pathWithQuery: `${message.fields.exchange}/${message.fields.routingKey}`, headers, body: message.content.toString('utf8') });
      channel.ack(message);
    });
  }
  return { all, close: () => connection.close() };
}

describeTransportConformance('rabbitmq', 'RABBITMQ', async () => {
  const consumer = await startConsumer(GAME_ID);
  const deps = transportDeps(localEgress);
  const down = transportDeps(localEgress, { amqp: `amqp://guest:guest@127.0.0.1:${CLOSED_PORT}` });
  return {
    transport: rabbitmqTransport.create(deps),
    addressFor: () => GAME_ID,
    unreachable: () => ({ transport: rabbitmqTransport.create(down), address: GAME_ID }),
    received: (_address, id, want) => collected(consumer.all, id, want),
    close: async () => {
      await consumer.close();
      await deps.rabbit.close();
    },
  };
});

describe('rabbitmq game-server transport, beyond the suite', () => {
  const deps = transportDeps(localEgress);
  afterAll(() => deps.rabbit.close());

  it('binds the game a durable queue: a message published while its consumer is down waits there, persistent, with its message id', async () => {
    const gameId = `${GAME_ID}-waiting`;
    const id = `dlv_${Date.now()}`;
    const answer = await rabbitmqTransport.create(deps).send({
      kind: 'DELIVERY',
      mode: 'RABBITMQ',
      gameId,
      secret: 'a-secret-of-at-least-32-characters!!',
      url: '',
      messageId: `${id}:1`,
      payload: { deliveryId: id },
      timeoutMs: 2_000,
    });
    expect(answer).toEqual({ outcome: 'PUBLISHED' });
    const connection = await connect(TEST_AMQP_URL);
    try {
      const channel = await connection.createChannel();
      let message = await channel.get(`payments.deliveries.${gameId}`);
      // Earlier runs' messages may wait before ours: read until ours.
      while (message && !message.content.toString().includes(id)) {
        channel.ack(message);
        message = await channel.get(`payments.deliveries.${gameId}`);
      }
      expect(message && { messageId: message.properties.messageId, deliveryMode: message.properties.deliveryMode }).toEqual({ messageId: `${id}:1`, deliveryMode: 2 });
      if (message) channel.ack(message);
    } finally {
      await connection.close();
    }
  });
});
