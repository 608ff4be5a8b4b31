import { headers as natsHeaders } from '@nats-io/nats-core';
import { BROKER_TOPICS, DELIVERY_STREAM } from '../domain/fulfillment/modes';
import type { NatsBroker } from '../infra/brokers/nats';
import { publishWithin, signedMessage } from './broker';
import type { GameServerAnswer, GameServerCall, TransportDefinition } from './types';

/**
 * A game-server call as a JetStream message on `payments.deliveries.<gameId>` (or `.revocations.`),
 * kept by stream PAYMENT_DELIVERIES until the game's durable consumer reads it. `Nats-Msg-Id` is the
 * attempt's message id, so a double publish of one attempt is stored once. The PubAck is awaited.
 */
export const natsTransport: TransportDefinition = {
  name: 'nats',
  mode: 'NATS',
  protocols: [],
  create: ({ nats }) => ({ send: (call) => publish(nats, call) }),
};

export const natsSubject = (call: Pick<GameServerCall, 'kind' | 'gameId'>) => `${BROKER_TOPICS[call.kind]}.${call.gameId}`;

function publish(nats: NatsBroker, call: GameServerCall): Promise<GameServerAnswer> {
  const subject = natsSubject(call);
  return publishWithin(call, 'NATS', async () => {
    await nats.ensureStream({ name: DELIVERY_STREAM.name, subjects: [...DELIVERY_STREAM.subjects], maxAgeMs: DELIVERY_STREAM.maxAgeMs });
    const js = await nats.jetstream();
    const { body, headers } = signedMessage(call, subject);
    const h = natsHeaders();
    for (const [name, value] of Object.entries(headers)) h.set(name, value);
    await js.publish(subject, body, { headers: h, timeout: call.timeoutMs, ...(call.messageId && { msgID: call.messageId }) });
  });
}
