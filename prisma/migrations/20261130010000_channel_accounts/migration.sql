-- CreateTable
CREATE TABLE "channel_accounts" (
    "id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "display_name" TEXT,
    "credentials_ciphertext" TEXT,
    "credentials_key_id" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "channel_accounts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "config_audit" (
    "id" BIGSERIAL NOT NULL,
    "entity" TEXT NOT NULL,
    "entity_id" TEXT NOT NULL,
    "actor" TEXT NOT NULL,
    "before" JSONB,
    "after" JSONB,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "config_audit_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "config_audit_entity_entity_id_idx" ON "config_audit"("entity", "entity_id");

-- CreateTable
CREATE TABLE "store_receipts" (
    "channel" TEXT NOT NULL,
    "channel_trade_no" TEXT NOT NULL,
    "order_id" UUID NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "store_receipts_pkey" PRIMARY KEY ("channel","channel_trade_no")
);

-- CreateTable
CREATE TABLE "revocations" (
    "id" TEXT NOT NULL,
    "order_id" UUID NOT NULL,
    "reason" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_status_code" INTEGER,
    "last_error" TEXT,
    "revoked_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "revocations_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "revocations_order_id_key" ON "revocations"("order_id");

-- CreateIndex
CREATE INDEX "revocations_status_idx" ON "revocations"("status");

-- AlterTable
ALTER TABLE "games" ADD COLUMN "revoke_url" TEXT;

-- AlterTable
ALTER TABLE "items" ADD COLUMN "store_products" JSONB;

-- AlterTable
ALTER TABLE "orders" ADD COLUMN "platform" TEXT,
ADD COLUMN "store_product_id" TEXT;

-- AddForeignKey
ALTER TABLE "store_receipts" ADD CONSTRAINT "store_receipts_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "revocations" ADD CONSTRAINT "revocations_order_id_fkey" FOREIGN KEY ("order_id") REFERENCES "orders"("id") ON DELETE CASCADE ON UPDATE CASCADE;
