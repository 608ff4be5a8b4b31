-- Prices per channel type and scheduled prices: a region may now have several prices (one per
-- channel type, each possibly with its window), so a price row gets its own key.
ALTER TABLE "item_prices" DROP CONSTRAINT "item_prices_pkey";
ALTER TABLE "item_prices" ADD COLUMN "id" BIGSERIAL NOT NULL;
ALTER TABLE "item_prices" ADD COLUMN "channel" TEXT;
ALTER TABLE "item_prices" ADD COLUMN "starts_at" TIMESTAMP(3);
ALTER TABLE "item_prices" ADD COLUMN "ends_at" TIMESTAMP(3);
ALTER TABLE "item_prices" ADD CONSTRAINT "item_prices_pkey" PRIMARY KEY ("id");
CREATE INDEX "item_prices_sku_idx" ON "item_prices"("sku");

-- Sale window, retirement, tags, per-user limits, units per order and the first-purchase bonus.
ALTER TABLE "items" ADD COLUMN "sale_starts_at" TIMESTAMP(3);
ALTER TABLE "items" ADD COLUMN "sale_ends_at" TIMESTAMP(3);
ALTER TABLE "items" ADD COLUMN "retired_at" TIMESTAMP(3);
ALTER TABLE "items" ADD COLUMN "tags" JSONB NOT NULL DEFAULT '[]';
ALTER TABLE "items" ADD COLUMN "limits" JSONB;
ALTER TABLE "items" ADD COLUMN "max_per_order" INTEGER;
ALTER TABLE "items" ADD COLUMN "first_purchase_bonus" JSONB;
