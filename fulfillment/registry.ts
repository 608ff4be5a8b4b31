import { natsBroker, type NatsBroker } from '../infra/brokers/nats';
import { rabbitBroker, type RabbitBroker } from '../infra/brokers/rabbitmq';
import { createEgress, egressPolicy, type EgressSettings } from '../infra/egress';
import type { Config } from '../infra/config';
import { httpTransport } from './http';
import { natsTransport } from './nats';
import { rabbitmqTransport } from './rabbitmq';
import type { GameServerAnswer, GameServerCall, GameServerTransport, TransportDefinition, TransportDeps } from './types';

/** Every way the platform reaches game servers: the one list. */
export const TRANSPORT_DEFINITIONS: readonly TransportDefinition[] = [httpTransport, natsTransport, rabbitmqTransport];

/** Sends a game-server call through the transport of the game's mode (HTTP: of its URL's scheme). */
export interface GameServerClient {
  send(call: GameServerCall): Promise<GameServerAnswer>;
}

export function createGameServerClient(deps: TransportDeps): GameServerClient {
  const byProtocol = new Map<string, GameServerTransport>();
  const byMode = new Map<string, GameServerTransport>();
  for (const definition of TRANSPORT_DEFINITIONS) {
    const transport = definition.create(deps);
    if (definition.mode !== 'HTTP') byMode.set(definition.mode, transport);
    for (const protocol of definition.protocols) byProtocol.set(protocol, transport);
  }
  return {
    async send(call) {
      const mode = call.mode ?? 'HTTP';
      const transport = mode === 'HTTP' ? byProtocol.get(protocolOf(call.url)) : byMode.get(mode);
      if (!transport) {
        // A URL no transport serves may be corrected by the studio before the deadline.
        return { outcome: 'RETRY', reason: 'UNREACHABLE', error: `no transport for ${mode === 'HTTP' ? protocolOf(call.url) || 'this URL' : mode}` };
      }
      return transport.send(call);
    },
  };
}

type ClientSettings = EgressSettings & Pick<Config, 'NATS_URL' | 'AMQP_URL'>;

/** The process's broker connections, one per URL, shared by every client (made on first use). */
const brokers = new Map<string, { nats: NatsBroker; rabbit: RabbitBroker }>();

/** The client a worker uses: its egress guard from the settings, the process's broker connections. */
export function gameServerClientFor(config: ClientSettings): GameServerClient {
  const key = `${config.NATS_URL} ${config.AMQP_URL}`;
  let shared = brokers.get(key);
  if (!shared) {
    shared = { nats: natsBroker(config.NATS_URL), rabbit: rabbitBroker(config.AMQP_URL) };
    brokers.set(key, shared);
  }
  return createGameServerClient({ egress: createEgress(egressPolicy(config)), ...shared });
}

/** Closes the process's broker connections (worker shutdown, tests). */
export async function closeGameServerBrokers(): Promise<void> {
  const open = [...brokers.values()];
  brokers.clear();
  await Promise.all(open.flatMap(({ nats, rabbit }) => [nats.close(), rabbit.close()]));
}

function protocolOf(url: string): string {
  try {
    return new URL(url).protocol;
  } catch {
    return '';
  }
}
