import { randomUUID } from 'node:crypto';
import { checkSignedRequest } from '../../domain/signature';
import type { GameServerCall, GameServerCallKind, GameServerTransport } from '../../fulfillment/types';

/** What a game server received from us, as it arrived. */
export interface ReceivedCall {
  /** The call's address as the transport delivered it (an HTTP path with its query; a subject for brokers). */
  pathWithQuery: string;
  headers: Record<string, string | undefined>;
  body: string;
}

/** How the fake game server behind one address answers (GRANT: a success that echoes nothing; ECHO: one that echoes the deliveryId). */
export type GameServerBehaviour = 'GRANT' | 'ECHO' | 'FAIL' | 'SILENT';

/**
 * The one conformance suite every game-server transport runs: the transport against a real local
 * game server of its kind (an HTTP server for `http`; a broker consumer for the broker transports).
 */
export interface TransportKit {
  transport: GameServerTransport;
  /** An address of the fake game server that answers with `behaviour`. */
  addressFor(behaviour: GameServerBehaviour): string;
  /** An address where nothing listens. */
  unreachableAddress(): string;
  /** What the fake game server received at `address`, oldest first. */
  received(address: string): ReceivedCall[];
  close(): Promise<void>;
}

const SECRET = 'conformance-secret-0123456789abcdef';
const GAME_ID = 'conformance-game';

function callOf(kind: GameServerCallKind, url: string, timeoutMs = 2_000): GameServerCall {
  const id = randomUUID();
  return {
    kind,
    gameId: GAME_ID,
    secret: SECRET,
    url,
    payload: kind === 'DELIVERY' ? { deliveryId: id, orderId: id, quantity: 1 } : { revocationId: id, orderId: id, reason: 'REFUND' },
    timeoutMs,
  };
}

export function describeTransportConformance(name: string, setup: () => Promise<TransportKit>): void {
  describe(`${name} game-server transport conformance`, () => {
    let kit: TransportKit;
    beforeAll(async () => {
      kit = await setup();
    });
    afterAll(() => kit.close());

    it.each(['DELIVERY', 'REVOCATION'] as const)('a %s the game takes is GRANTED, signed over its exact body', async (kind) => {
      const address = kit.addressFor('GRANT');
      const call = callOf(kind, address);
      const answer = await kit.transport.send(call);
      expect(answer.outcome).toBe('GRANTED');
      const [received] = kit.received(address).slice(-1);
      expect(JSON.parse(received!.body)).toEqual(call.payload);
      expect(received!.headers['x-game-id']).toBe(GAME_ID);
      const check = checkSignedRequest(
        SECRET,
        {
          method: 'POST',
          pathWithQuery: received!.pathWithQuery,
          body: received!.body,
          timestamp: received!.headers['x-timestamp'],
          nonce: received!.headers['x-nonce'],
        },
        received!.headers['x-signature'],
        Math.floor(Date.now() / 1000),
        60,
      );
      expect(check).toEqual({ ok: true });
    });

    it('signs every attempt with a fresh nonce, the body unchanged', async () => {
      const address = kit.addressFor('GRANT');
      const call = callOf('DELIVERY', address);
      await kit.transport.send(call);
      await kit.transport.send(call);
      const [first, second] = kit.received(address).slice(-2);
      expect(first!.body).toBe(second!.body);
      expect(first!.headers['x-nonce']).not.toBe(second!.headers['x-nonce']);
    });

    it('a delivery that asks for the echo is GRANTED when the game echoes its deliveryId', async () => {
      const call = callOf('DELIVERY', kit.addressFor('ECHO'));
      expect(await kit.transport.send({ ...call, expectEcho: { deliveryId: String(call.payload.deliveryId) } })).toMatchObject({ outcome: 'GRANTED' });
    });

    it('a delivery that asks for the echo is a RETRY (NO_ECHO) when the success does not echo it', async () => {
      const call = callOf('DELIVERY', kit.addressFor('GRANT'));
      const answer = await kit.transport.send({ ...call, expectEcho: { deliveryId: String(call.payload.deliveryId) } });
      expect(answer).toMatchObject({ outcome: 'RETRY', reason: 'NO_ECHO', error: expect.stringContaining('without echoing deliveryId') });
    });

    it('a game that fails the call is a RETRY with its status, never its body', async () => {
      const answer = await kit.transport.send(callOf('DELIVERY', kit.addressFor('FAIL')));
      expect(answer).toMatchObject({ outcome: 'RETRY', reason: 'STATUS' });
      expect(answer.outcome === 'RETRY' && answer.error).not.toMatch(/internal detail/);
    });

    it('a game that does not answer within the call timeout is a RETRY (TIMEOUT)', async () => {
      const started = Date.now();
      const answer = await kit.transport.send(callOf('REVOCATION', kit.addressFor('SILENT'), 300));
      expect(answer).toMatchObject({ outcome: 'RETRY', reason: 'TIMEOUT' });
      expect(Date.now() - started).toBeLessThan(2_000);
    });

    it('a game that cannot be reached is a RETRY (UNREACHABLE)', async () => {
      expect(await kit.transport.send(callOf('DELIVERY', kit.unreachableAddress()))).toMatchObject({ outcome: 'RETRY', reason: 'UNREACHABLE' });
    });
  });
}
