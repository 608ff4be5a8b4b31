-- CreateTable
CREATE TABLE "ops_actions" (
    "id" BIGSERIAL NOT NULL,
    "order_id" UUID NOT NULL,
    "operator" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "detail" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ops_actions_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "ops_actions_order_id_idx" ON "ops_actions"("order_id");
