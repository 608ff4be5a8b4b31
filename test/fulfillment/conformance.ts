import { randomUUID } from 'node:crypto';
import type { DeliveryMode } from '../../domain/fulfillment/modes';
import { checkSignedRequest } from '../../domain/signature';
import type { GameServerCall, GameServerCallKind, GameServerTransport } from '../../fulfillment/types';

/** What a game server received from us, as it arrived. */
export interface ReceivedCall {
  /** How it was signed: POST (HTTP) or PUBLISH (brokers). */
  method: string;
  /** The call's address as the transport delivered it (an HTTP path with its query; a subject or `<exchange>/<routingKey>` for brokers). */
  pathWithQuery: string;
  /** Lowercase names. */
  headers: Record<string, string | undefined>;
  body: string;
}

/** How the fake game server behind one address answers (GRANT: a success that echoes nothing; ECHO: one that echoes the deliveryId). */
export type GameServerBehaviour = 'GRANT' | 'ECHO' | 'FAIL' | 'SILENT';

/**
 * The one conformance suite every game-server transport runs: the transport against a real local
 * game server of its kind (an HTTP server for `http`; a consumer on the machine's broker for NATS and
 * RabbitMQ). A broker only stores the message (PUBLISHED): what the game answers is its REST ack, so
 * the answering behaviours are the HTTP transport's alone.
 */
export interface TransportKit {
  transport: GameServerTransport;
  /** HTTP: a URL of the fake game server that answers with `behaviour`; brokers: the game id its consumer follows. */
  addressFor(behaviour: GameServerBehaviour): string;
  /** A transport and address where nothing listens. */
  unreachable(): { transport: GameServerTransport; address: string };
  /** What the fake game server received at `address` carrying this delivery or revocation id, oldest first (waits a little for brokers). */
  received(address: string, id: string, want: number): Promise<ReceivedCall[]>;
  close(): Promise<void>;
}

const SECRET = 'conformance-secret-0123456789abcdef';
const HTTP_GAME_ID = 'conformance-game';

function callOf(mode: DeliveryMode, kind: GameServerCallKind, address: string, timeoutMs = 2_000): GameServerCall {
  const id = randomUUID();
  const http = mode === 'HTTP';
  return {
    kind,
    mode,
    gameId: http ? HTTP_GAME_ID : address,
    secret: SECRET,
    url: http ? address : '',
    messageId: `${id}:1`,
    payload: kind === 'DELIVERY' ? { deliveryId: id, orderId: id, quantity: 1 } : { revocationId: id, orderId: id, reason: 'REFUND' },
    timeoutMs,
  };
}

const idOf = (call: GameServerCall) => String(call.payload.deliveryId ?? call.payload.revocationId);

export function describeTransportConformance(name: string, mode: DeliveryMode, setup: () => Promise<TransportKit>): void {
  const taken = mode === 'HTTP' ? 'GRANTED' : 'PUBLISHED';
  describe(`${name} game-server transport conformance`, () => {
    let kit: TransportKit;
    beforeAll(async () => {
      kit = await setup();
    });
    afterAll(() => kit?.close());

    it.each(['DELIVERY', 'REVOCATION'] as const)(`a %s the game can take is ${taken}, signed over its exact body`, async (kind) => {
      const address = kit.addressFor('GRANT');
      const call = callOf(mode, kind, address);
      const answer = await kit.transport.send(call);
      expect(answer.outcome).toBe(taken);
      const [received] = await kit.received(address, idOf(call), 1);
      expect(JSON.parse(received!.body)).toEqual(call.payload);
      expect(received!.headers['x-game-id']).toBe(call.gameId);
      const check = checkSignedRequest(
        SECRET,
        {
          method: received!.method,
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
      expect(received!.method).toBe(mode === 'HTTP' ? 'POST' : 'PUBLISH');
    });

    it('signs every attempt with a fresh nonce, the body unchanged', async () => {
      const address = kit.addressFor('GRANT');
      const call = callOf(mode, 'DELIVERY', address);
      await kit.transport.send(call);
      await kit.transport.send({ ...call, messageId: `${idOf(call)}:2` });
      const [first, second] = await kit.received(address, idOf(call), 2);
      expect(first!.body).toBe(second!.body);
      expect(first!.headers['x-nonce']).not.toBe(second!.headers['x-nonce']);
    });

    it('a game (or broker) that cannot be reached is a RETRY (UNREACHABLE)', async () => {
      const { transport, address } = kit.unreachable();
      expect(await transport.send(callOf(mode, 'DELIVERY', address))).toMatchObject({ outcome: 'RETRY', reason: 'UNREACHABLE' });
    });

    if (mode !== 'HTTP') return;

    it('a delivery that asks for the echo is GRANTED when the game echoes its deliveryId', async () => {
      const call = callOf(mode, 'DELIVERY', kit.addressFor('ECHO'));
      expect(await kit.transport.send({ ...call, expectEcho: { deliveryId: idOf(call) } })).toMatchObject({ outcome: 'GRANTED' });
    });

    it('a delivery that asks for the echo is a RETRY (NO_ECHO) when the success does not echo it', async () => {
      const call = callOf(mode, 'DELIVERY', kit.addressFor('GRANT'));
      const answer = await kit.transport.send({ ...call, expectEcho: { deliveryId: idOf(call) } });
      expect(answer).toMatchObject({ outcome: 'RETRY', reason: 'NO_ECHO', error: expect.stringContaining('without echoing deliveryId') });
    });

    it('a game that fails the call is a RETRY with its status, never its body', async () => {
      const answer = await kit.transport.send(callOf(mode, 'DELIVERY', kit.addressFor('FAIL')));
      expect(answer).toMatchObject({ outcome: 'RETRY', reason: 'STATUS' });
      expect(answer.outcome === 'RETRY' && answer.error).not.toMatch(/internal detail/);
    });

    it('a game that does not answer within the call timeout is a RETRY (TIMEOUT)', async () => {
      const started = Date.now();
      const answer = await kit.transport.send(callOf(mode, 'REVOCATION', kit.addressFor('SILENT'), 300));
      expect(answer).toMatchObject({ outcome: 'RETRY', reason: 'TIMEOUT' });
      expect(Date.now() - started).toBeLessThan(2_000);
    });
  });
}

/** Polls what a broker consumer collected until `want` messages carry the id (or `waitMs` pass). */
export async function collected(all: ReceivedCall[], id: string, want: number, waitMs = 5_000): Promise<ReceivedCall[]> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const found = all.filter((call) => call.body.includes(id));
    if (found.length >= want || Date.now() > deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
