import { natsBroker } from '../../infra/brokers/nats';
import { rabbitBroker } from '../../infra/brokers/rabbitmq';
import type { Egress } from '../../infra/egress';
import type { TransportDeps } from '../../fulfillment/types';

/** The machine's brokers (.ci/run starts them when down); tests use their own game ids and never delete streams. */
export const TEST_NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
export const TEST_AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** A port where nothing listens (the discard port is closed on this machine). */
export const CLOSED_PORT = 9;

/** What a transport is built from in tests: broker connections are lazy, so HTTP-only tests never open one. */
export function transportDeps(egress: Egress, urls: { nats?: string; amqp?: string } = {}): TransportDeps {
  return { egress, nats: natsBroker(urls.nats ?? TEST_NATS_URL), rabbit: rabbitBroker(urls.amqp ?? TEST_AMQP_URL) };
}
