-- Delivery over NATS JetStream or RabbitMQ, acknowledged by the game (issue 20): existing games stay HTTP.
ALTER TABLE "games" ADD COLUMN "delivery_mode" TEXT NOT NULL DEFAULT 'HTTP',
  ADD COLUMN "delivery_ack_timeout_ms" INTEGER NOT NULL DEFAULT 30000;

-- The mode is fixed on a delivery when it starts; the game's ack, or the close at the deadline or by an
-- operator, is written once (first written wins).
ALTER TABLE "deliveries" ADD COLUMN "mode" TEXT NOT NULL DEFAULT 'HTTP',
  ADD COLUMN "ack_timeout_ms" INTEGER,
  ADD COLUMN "ack_result" TEXT,
  ADD COLUMN "ack_reason" TEXT,
  ADD COLUMN "acknowledged_at" TIMESTAMP(3),
  ADD COLUMN "closed_at" TIMESTAMP(3);

ALTER TABLE "revocations" ADD COLUMN "mode" TEXT NOT NULL DEFAULT 'HTTP',
  ADD COLUMN "acknowledged_at" TIMESTAMP(3);
