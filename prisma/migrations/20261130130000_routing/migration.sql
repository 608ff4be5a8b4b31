-- Routing and resilience: routing fields of channel accounts, games' channel policies, the routing
-- decision and channel attempts of each order, and the shared state of the circuit breakers.

-- AlterTable
ALTER TABLE "channel_accounts" ADD COLUMN "routing" JSONB;

-- AlterTable
ALTER TABLE "games" ADD COLUMN "channel_policy" JSONB;

-- AlterTable
ALTER TABLE "orders" ADD COLUMN "routing" JSONB;

-- CreateTable
CREATE TABLE "order_channel_attempts" (
    "order_id" UUID NOT NULL,
    "attempt" INTEGER NOT NULL,
    "channel" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "channel_payment_id" TEXT,
    "payment" JSONB,
    "error" TEXT,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "order_channel_attempts_pkey" PRIMARY KEY ("order_id","attempt")
);

-- CreateTable
CREATE TABLE "channel_breakers" (
    "channel_id" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'CLOSED',
    "changed_at" TIMESTAMP(3) NOT NULL,
    "consecutive_failures" INTEGER NOT NULL DEFAULT 0,
    "probes" INTEGER NOT NULL DEFAULT 0,
    "version" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "channel_breakers_pkey" PRIMARY KEY ("channel_id")
);

-- CreateTable
CREATE TABLE "channel_call_outcomes" (
    "id" BIGSERIAL NOT NULL,
    "channel_id" TEXT NOT NULL,
    "operation" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "latency_ms" INTEGER NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "channel_call_outcomes_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "channel_call_outcomes_channel_id_at_idx" ON "channel_call_outcomes"("channel_id", "at");

-- AddForeignKey
ALTER TABLE "order_channel_attempts" ADD CONSTRAINT "order_channel_attempts_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- The sandbox provider keeps each merchant account's payments apart (an account is where its
-- notifications go), as a real provider does: one order may be opened at two sandbox accounts.
DROP INDEX "sandbox_payments_merchant_order_id_key";
CREATE UNIQUE INDEX "sandbox_payments_merchant_order_id_notify_url_key" ON "sandbox_payments"("merchant_order_id", "notify_url");

-- A sandbox account's share of payments its provider declines (fault injection for demos and tests).
ALTER TABLE "sandbox_payments" ADD COLUMN "decline_rate" DOUBLE PRECISION NOT NULL DEFAULT 0;
