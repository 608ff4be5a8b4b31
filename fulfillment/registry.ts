import { createEgress, egressPolicy, type EgressSettings } from '../infra/egress';
import { httpTransport } from './http';
import type { GameServerAnswer, GameServerCall, TransportDefinition, TransportDeps } from './types';

/** Every way the platform reaches game servers: the one list (broker transports join it here). */
export const TRANSPORT_DEFINITIONS: readonly TransportDefinition[] = [httpTransport];

/** Sends a game-server call through the transport its URL's scheme names. */
export interface GameServerClient {
  send(call: GameServerCall): Promise<GameServerAnswer>;
}

export function createGameServerClient(deps: TransportDeps): GameServerClient {
  const byProtocol = new Map(
    TRANSPORT_DEFINITIONS.flatMap((definition) => {
      const transport = definition.create(deps);
      return definition.protocols.map((protocol) => [protocol, transport] as const);
    }),
  );
  return {
    async send(call) {
      const transport = byProtocol.get(protocolOf(call.url));
      if (!transport) {
        // A URL no transport serves may be corrected by the studio before the deadline.
        return { outcome: 'RETRY', reason: 'UNREACHABLE', error: `no transport for ${protocolOf(call.url) || 'this URL'}` };
      }
      return transport.send(call);
    },
  };
}

/** The client a worker uses, its egress guard from the settings. */
export function gameServerClientFor(config: EgressSettings): GameServerClient {
  return createGameServerClient({ egress: createEgress(egressPolicy(config)) });
}

function protocolOf(url: string): string {
  try {
    return new URL(url).protocol;
  } catch {
    return '';
  }
}
