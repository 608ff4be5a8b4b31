-- Daily reconciliation: runs, the statements they stage, the differences they find, the games' grant
-- logs (three-way), and the sandbox provider's planted statement differences.

-- CreateTable
CREATE TABLE "recon_runs" (
    "id" UUID NOT NULL,
    "channel" TEXT NOT NULL,
    "statement_date" DATE NOT NULL,
    "time_zone" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "trigger" TEXT NOT NULL,
    "requested_by" TEXT,
    "workflow_id" TEXT,
    "rows_read" INTEGER NOT NULL DEFAULT 0,
    "rows_matched" INTEGER NOT NULL DEFAULT 0,
    "summary" JSONB,
    "error" TEXT,
    "superseded_by" UUID,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMP(3),
    "finished_at" TIMESTAMP(3),

    CONSTRAINT "recon_runs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "statement_lines" (
    "run_id" UUID NOT NULL,
    "line_no" INTEGER NOT NULL,
    "kind" TEXT NOT NULL,
    "channel_trade_no" TEXT NOT NULL,
    "merchant_order_id" UUID,
    "refund_id" TEXT,
    "currency" TEXT NOT NULL,
    "amount" BIGINT NOT NULL,
    "fee" BIGINT,
    "occurred_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "statement_lines_pkey" PRIMARY KEY ("run_id","line_no")
);

-- CreateTable
CREATE TABLE "recon_differences" (
    "id" BIGSERIAL NOT NULL,
    "run_id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "resolution" TEXT NOT NULL,
    "side" TEXT NOT NULL,
    "channel_trade_no" TEXT,
    "order_id" UUID,
    "refund_id" TEXT,
    "currency" TEXT,
    "ours" BIGINT,
    "theirs" BIGINT,
    "detail" TEXT,
    "repair" TEXT,
    "note" TEXT,
    "resolved_by" TEXT,
    "resolved_at" TIMESTAMP(3),
    "rechecked_by" UUID,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "recon_differences_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "grant_logs" (
    "delivery_id" TEXT NOT NULL,
    "game_id" TEXT NOT NULL,
    "order_id" UUID NOT NULL,
    "granted_at" TIMESTAMP(3) NOT NULL,
    "log_date" DATE NOT NULL,
    "received_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "grant_logs_pkey" PRIMARY KEY ("delivery_id")
);

-- CreateTable
CREATE TABLE "grant_log_days" (
    "game_id" TEXT NOT NULL,
    "log_date" DATE NOT NULL,
    "first_received_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "grant_log_days_pkey" PRIMARY KEY ("game_id","log_date")
);

-- CreateTable
CREATE TABLE "sandbox_statement_adjustments" (
    "id" BIGSERIAL NOT NULL,
    "statement_date" DATE NOT NULL,
    "kind" TEXT NOT NULL,
    "payment_id" TEXT,
    "trade_no" TEXT,
    "currency" TEXT,
    "amount" INTEGER,
    "fee" INTEGER,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sandbox_statement_adjustments_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "recon_runs_channel_statement_date_idx" ON "recon_runs"("channel", "statement_date");

-- CreateIndex
CREATE INDEX "recon_differences_run_id_id_idx" ON "recon_differences"("run_id", "id");

-- CreateIndex
CREATE INDEX "recon_differences_order_id_idx" ON "recon_differences"("order_id");

-- CreateIndex
CREATE INDEX "grant_logs_log_date_idx" ON "grant_logs"("log_date");

-- CreateIndex
CREATE INDEX "grant_logs_order_id_idx" ON "grant_logs"("order_id");

-- CreateIndex
CREATE UNIQUE INDEX "sandbox_statement_adjustments_statement_date_kind_payment_id_key" ON "sandbox_statement_adjustments"("statement_date", "kind", "payment_id");

-- What a day's reconciliation reads by time: payments and orders by when they were paid or placed
-- (platform side, reports), the sandbox provider's payments and refunds by day (its statements).
-- CreateIndex
CREATE INDEX "orders_paid_at_idx" ON "orders"("paid_at");

-- CreateIndex
CREATE INDEX "orders_created_at_idx" ON "orders"("created_at");

-- CreateIndex
CREATE INDEX "sandbox_payments_paid_at_idx" ON "sandbox_payments"("paid_at");

-- CreateIndex
CREATE INDEX "sandbox_refunds_created_at_idx" ON "sandbox_refunds"("created_at");

-- AddForeignKey
ALTER TABLE "recon_differences" ADD CONSTRAINT "recon_differences_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "recon_runs"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
