-- Order events (issue 20): a local message table written by the statement that changes the order,
-- relayed to NATS JetStream or RabbitMQ (infra/event-relay.ts).

-- The order's change counter: each event's `sequence`. Existing orders count the changes they had.
ALTER TABLE "orders" ADD COLUMN "event_sequence" INTEGER NOT NULL DEFAULT 0;
UPDATE "orders" o SET "event_sequence" = (SELECT count(*) FROM "order_history" h WHERE h."order_id" = o."id");

CREATE TABLE "order_events" (
    "id" BIGSERIAL NOT NULL,
    "order_id" UUID NOT NULL,
    "sequence" INTEGER NOT NULL,
    "type" TEXT NOT NULL,
    "game_id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "sku" TEXT NOT NULL,
    "currency" TEXT NOT NULL,
    "amount" INTEGER NOT NULL,
    "channel" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "reason" TEXT,
    "at" TIMESTAMP(3) NOT NULL,
    "published_at" TIMESTAMP(3),
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,

    CONSTRAINT "order_events_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "order_events_order_id_sequence_key" ON "order_events"("order_id", "sequence");
-- Unpublished rows oldest first (published_at IS NULL), and the published ones to prune.
CREATE INDEX "order_events_published_at_id_idx" ON "order_events"("published_at", "id");

-- The relay is woken by the statement that writes an event (delivered at its commit).
CREATE FUNCTION order_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('order_events', '');
  RETURN NULL;
END $$;
CREATE TRIGGER order_events_notify AFTER INSERT ON "order_events"
  FOR EACH STATEMENT EXECUTE FUNCTION order_events_notify();
