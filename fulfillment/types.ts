import type { DeliveryMode } from '../domain/fulfillment/modes';
import type { NatsBroker } from '../infra/brokers/nats';
import type { RabbitBroker } from '../infra/brokers/rabbitmq';
import type { Egress } from '../infra/egress';

/**
 * The one interface of a call to a game server, whatever carries it (HTTP, NATS JetStream, RabbitMQ):
 * the caller says what kind of call it is and what it carries; the transport signs it, sends it and
 * sorts the answer into what the workflows act on.
 */

export const CALL_KINDS = ['DELIVERY', 'REVOCATION'] as const;
export type GameServerCallKind = (typeof CALL_KINDS)[number];

export interface GameServerCall {
  kind: GameServerCallKind;
  gameId: string;
  /** The game's HMAC key: signs the call (never sent, never logged). */
  secret: string;
  /** How the game takes its calls (absent: HTTP); HTTP calls go through the transport of the URL's scheme. */
  mode?: DeliveryMode;
  /** Where the game takes this kind of call over HTTP (its deliveryUrl or revokeUrl); unused by the brokers. */
  url: string;
  /** The broker message's id, `<id>:<attempt>` (brokers drop a second publish of one attempt). */
  messageId?: string;
  /** The call's JSON body: the same ids on every attempt (the game deduplicates by them). */
  payload: Record<string, unknown>;
  /**
   * Fields the game's answer must echo (a delivery's `deliveryId`, for games that ask for it): a 2xx
   * without them is a failed attempt, as something in front of the game may have answered.
   */
  expectEcho?: Record<string, string>;
  /** How long one attempt may take (a setting per call kind): the answer, or the broker's confirm. */
  timeoutMs: number;
  /** Aborts the attempt at once (the worker cancels the activity). */
  signal?: AbortSignal;
}

/** Why an attempt failed; every one is retried until the call's deadline. */
export type RetryReason = 'STATUS' | 'REDIRECT' | 'NO_ECHO' | 'TIMEOUT' | 'UNREACHABLE' | 'ANSWER_TOO_LARGE' | 'EGRESS_REFUSED';

export type GameServerAnswer =
  /** The game took the call (HTTP 2xx). */
  | { outcome: 'GRANTED'; statusCode: number }
  /** The broker stored the message (PubAck, publisher confirm): the game acknowledges it over REST. */
  | { outcome: 'PUBLISHED'; statusCode?: undefined }
  /**
   * A failed attempt. `error` says why in our words (status, Location): never the game's own body.
   * There is no final refusal yet: a game answering 4xx may be fixed, or its URL changed, before the deadline.
   */
  | { outcome: 'RETRY'; reason: RetryReason; error: string; statusCode?: number; location?: string };

/** A way to reach game servers (one per URL scheme family). */
export interface GameServerTransport {
  send(call: GameServerCall): Promise<GameServerAnswer>;
}

/** What every transport is built from (broker connections are made on first use). */
export interface TransportDeps {
  egress: Egress;
  nats: NatsBroker;
  rabbit: RabbitBroker;
}

export interface TransportDefinition {
  name: string;
  mode: DeliveryMode;
  /** The URL schemes (with the colon, as `URL.protocol` has them) this transport serves (HTTP only). */
  protocols: readonly string[];
  create(deps: TransportDeps): GameServerTransport;
}
