-- Issue 23: Apple's consumption requests answered. A game's setting, and one row per store transaction asked about.
ALTER TABLE "games" ADD COLUMN "consumption_answers" JSONB;

CREATE TABLE "consumption_requests" (
    "channel" TEXT NOT NULL,
    "transaction_id" TEXT NOT NULL,
    "order_id" UUID,
    "reason" TEXT,
    "signed_date" TIMESTAMP(3) NOT NULL,
    "deadline" TIMESTAMP(3) NOT NULL,
    "source" TEXT NOT NULL,
    "outcome" TEXT,
    "body" JSONB,
    "error" TEXT,
    "received_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "answered_at" TIMESTAMP(3),

    CONSTRAINT "consumption_requests_pkey" PRIMARY KEY ("channel","transaction_id")
);
CREATE INDEX "consumption_requests_order_id_idx" ON "consumption_requests"("order_id");
