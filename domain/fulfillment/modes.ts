/**
 * How a game takes its deliveries and revocations: a signed HTTP POST it answers (HTTP), or a signed
 * message on a broker that it acknowledges over REST (NATS JetStream, RabbitMQ).
 */
export const DELIVERY_MODES = ['HTTP', 'NATS', 'RABBITMQ'] as const;
export type DeliveryMode = (typeof DELIVERY_MODES)[number];

/** A broker mode: the publish is only handed over; the game's ack (or its absence) decides. */
export const awaitsAck = (mode: DeliveryMode): boolean => mode !== 'HTTP';

export const ACK_TIMEOUT_MS = { min: 1_000, max: 3_600_000, default: 30_000 } as const;

/** Where broker messages go: NATS subjects `<prefix>.<gameId>`, RabbitMQ exchange `<prefix>` with routing key `<gameId>`. */
export const BROKER_TOPICS = { DELIVERY: 'payments.deliveries', REVOCATION: 'payments.revocations' } as const;

/** The JetStream stream that keeps both kinds of message (7 days). */
export const DELIVERY_STREAM = {
  name: 'PAYMENT_DELIVERIES',
  subjects: [`${BROKER_TOPICS.DELIVERY}.>`, `${BROKER_TOPICS.REVOCATION}.>`],
  maxAgeMs: 7 * 24 * 3_600_000,
} as const;

/** One broker message per attempt: a republish is a new attempt, a double publish of one attempt is dropped. */
export const brokerMessageId = (id: string, attempt: number) => `${id}:${attempt}`;
