import { DeliverPolicy, type ConsumerMessages } from '@nats-io/jetstream';
import { DELIVERY_STREAM } from '../../domain/fulfillment/modes';
import { natsTransport } from '../../fulfillment/nats';
import { natsBroker } from '../../infra/brokers/nats';
import { CLOSED_PORT, TEST_NATS_URL, transportDeps } from '../support/brokers';
import { localEgress } from '../support/egress';
import { collected, describeTransportConformance, type ReceivedCall } from './conformance';

const GAME_ID = 'brokers-conformance-nats';

/** A game's consumer on the machine's NATS: every message on its subjects from now on, as it arrived. */
async function startConsumer(gameId: string) {
  const broker = natsBroker(TEST_NATS_URL);
  await broker.ensureStream({ name: DELIVERY_STREAM.name, subjects: [...DELIVERY_STREAM.subjects], maxAgeMs: DELIVERY_STREAM.maxAgeMs });
  const js = await broker.jetstream();
  const all: ReceivedCall[] = [];
  // One consumer per kind (the machine's nats-server predates multi-subject filters).
  const subscriptions: ConsumerMessages[] = [];
  for (const subject of [`payments.deliveries.${gameId}`, `payments.revocations.${gameId}`]) {
    const consumer = await js.consumers.get(DELIVERY_STREAM.name, { filter_subjects: subject, deliver_policy: DeliverPolicy.New });
    const messages = await consumer.consume();
    subscriptions.push(messages);
    void (async () => {
      for await (const message of messages) {
        const headers: Record<string, string> = {};
        for (const key of message.headers?.keys() ?? []) headers[key.toLowerCase()] = message.headers!.get(key);
        all.push({ method: 'PUBLISH', pathWithQuery: message.subject, headers, body: message.string() });
      }
    })();
  }
  return {
    all,
    close: async () => {
      await Promise.all(subscriptions.map((messages) => messages.close()));
      await broker.close();
    },
  };
}

describeTransportConformance('nats', 'NATS', async () => {
  const consumer = await startConsumer(GAME_ID);
  const deps = transportDeps(localEgress);
  const down = transportDeps(localEgress, { nats: `nats://127.0.0.1:${CLOSED_PORT}` });
  return {
    transport: natsTransport.create(deps),
    addressFor: () => GAME_ID,
    unreachable: () => ({ transport: natsTransport.create(down), address: GAME_ID }),
    received: (_address, id, want) => collected(consumer.all, id, want),
    close: async () => {
      await consumer.close();
      await deps.nats.close();
    },
  };
});

describe('nats game-server transport, beyond the suite', () => {
  const deps = transportDeps(localEgress);
  afterAll(() => deps.nats.close());

  it('a double publish of one attempt (one Nats-Msg-Id) is stored once; a republish is a new message', async () => {
    const consumer = await startConsumer(`${GAME_ID}-dedupe`);
    try {
      const transport = natsTransport.create(deps);
      const id = `dlv_${Date.now()}`;
      const call = {
        kind: 'DELIVERY' as const,
        mode: 'NATS' as const,
        gameId: `${GAME_ID}-dedupe`,
        secret: 'a-secret-of-at-least-32-characters!!',
        url: '',
        payload: { deliveryId: id },
        timeoutMs: 2_000,
      };
      const stream = await (await deps.nats.manager()).streams.info(DELIVERY_STREAM.name);
      expect(stream.config.subjects).toEqual(expect.arrayContaining([...DELIVERY_STREAM.subjects]));
      await transport.send({ ...call, messageId: `${id}:1` });
      await transport.send({ ...call, messageId: `${id}:1` });
      await transport.send({ ...call, messageId: `${id}:2` });
      // Waits a second for a third message that must not come.
      const found = await collected(consumer.all, id, 3, 1_000);
      expect(found).toHaveLength(2);
    } finally {
      await consumer.close();
    }
  });
});
