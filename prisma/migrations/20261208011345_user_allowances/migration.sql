-- Per-user allowances: units bought per day and ever, non-consumables owned, first-purchase bonuses
-- claimed. One counter row per (game, user, key), changed by one conditional write; each order's
-- share is recorded so closing or refunding it gives back exactly what it took.
CREATE TABLE "user_allowances" (
    "game_id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "used" INTEGER NOT NULL,
    "order_id" UUID NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "user_allowances_pkey" PRIMARY KEY ("game_id","user_id","key")
);

CREATE TABLE "order_allowances" (
    "order_id" UUID NOT NULL,
    "key" TEXT NOT NULL,
    "game_id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "quantity" INTEGER NOT NULL,
    "status" TEXT NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "order_allowances_pkey" PRIMARY KEY ("order_id","key")
);

-- The bonus part of an order's grants (its grants include it), and what a refusal was about.
ALTER TABLE "orders" ADD COLUMN "bonus_grants" JSONB;
ALTER TABLE "orders" ADD COLUMN "status_details" JSONB;
