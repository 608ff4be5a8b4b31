-- Risk rules as data, their counters and each order's decision; the blacklist keeps personal values
-- only as lookup digests (plus a sealed copy to list them) and may expire.
CREATE TABLE "risk_rules" (
    "id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "params" JSONB NOT NULL,
    "action" TEXT NOT NULL,
    "enabled" BOOLEAN NOT NULL,
    "game_id" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "risk_rules_pkey" PRIMARY KEY ("id")
);

-- One row per subject (user, device, IP, subnet digests) of each order risk let through.
CREATE TABLE "risk_window_events" (
    "order_id" UUID NOT NULL,
    "subject" TEXT NOT NULL,
    "game_id" TEXT NOT NULL,
    "subject_key" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "currency" TEXT NOT NULL,
    "amount" INTEGER NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    CONSTRAINT "risk_window_events_pkey" PRIMARY KEY ("order_id", "subject")
);
CREATE INDEX "risk_window_events_game_id_subject_subject_key_at_idx" ON "risk_window_events"("game_id", "subject", "subject_key", "at");
CREATE INDEX "risk_window_events_at_idx" ON "risk_window_events"("at");

-- The risk decision of each order, with the rules that hit it (figures only).
CREATE TABLE "risk_decisions" (
    "order_id" UUID NOT NULL,
    "game_id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "currency" TEXT NOT NULL,
    "amount" INTEGER NOT NULL,
    "decision" TEXT NOT NULL,
    "reasons" TEXT[],
    "hits" JSONB NOT NULL,
    "decided_at" TIMESTAMP(3) NOT NULL,
    "operator_decision" TEXT,
    "operator_reason" TEXT,
    "operator" TEXT,
    "operator_decided_at" TIMESTAMP(3),
    CONSTRAINT "risk_decisions_pkey" PRIMARY KEY ("order_id")
);
CREATE INDEX "risk_decisions_decided_at_idx" ON "risk_decisions"("decided_at");

ALTER TABLE "risk_blacklist" ADD COLUMN "sealed_value" TEXT;
ALTER TABLE "risk_blacklist" ADD COLUMN "expires_at" TIMESTAMP(3);
