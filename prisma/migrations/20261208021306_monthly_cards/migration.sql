-- Monthly cards: each purchase of a card (its terms fixed when the order was delivered) and each card
-- day handed to the game, one row per day keyed by its deliveryId `<card id>:<day>`.
CREATE TABLE "monthly_card_orders" (
    "order_id" UUID NOT NULL,
    "card_id" TEXT NOT NULL,
    "game_id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "sku" TEXT NOT NULL,
    "days" INTEGER NOT NULL,
    "daily_grants" JSONB NOT NULL,
    "bought_at" TIMESTAMP(3) NOT NULL,
    "reversed_at" TIMESTAMP(3),

    CONSTRAINT "monthly_card_orders_pkey" PRIMARY KEY ("order_id")
);
CREATE INDEX "monthly_card_orders_card_id_idx" ON "monthly_card_orders"("card_id");
CREATE INDEX "monthly_card_orders_game_id_user_id_idx" ON "monthly_card_orders"("game_id", "user_id");

CREATE TABLE "monthly_card_days" (
    "id" TEXT NOT NULL,
    "card_id" TEXT NOT NULL,
    "day" INTEGER NOT NULL,
    "order_id" UUID NOT NULL,
    "grants" JSONB NOT NULL,
    "due_at" TIMESTAMP(3) NOT NULL,
    "status" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_status_code" INTEGER,
    "last_error" TEXT,
    "delivered_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "monthly_card_days_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "monthly_card_days_card_id_day_key" ON "monthly_card_days"("card_id", "day");
