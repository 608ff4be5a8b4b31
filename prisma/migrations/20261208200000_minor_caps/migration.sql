-- Issue 19: minors' spending caps.
-- The age band an order of the game is checked as when the game server names none.
ALTER TABLE "games" ADD COLUMN "default_age_band" TEXT NOT NULL DEFAULT 'ADULT';

-- Operators' caps per region (the built-in CN caps apply to a region without a row).
CREATE TABLE "risk_minor_caps" (
    "region" TEXT NOT NULL,
    "currency" TEXT NOT NULL,
    "bands" JSONB NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "risk_minor_caps_pkey" PRIMARY KEY ("region")
);

-- What a minor has spent (pending and paid orders) in a calendar month of the game's time zone.
CREATE TABLE "risk_minor_spend" (
    "game_id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "month" TEXT NOT NULL,
    "currency" TEXT NOT NULL,
    "used" INTEGER NOT NULL,

    CONSTRAINT "risk_minor_spend_pkey" PRIMARY KEY ("game_id","user_id","month","currency")
);

-- One hold per order on its user's month (idempotent by order id), released when the order is rejected later, closed or refunded.
CREATE TABLE "risk_minor_holds" (
    "order_id" UUID NOT NULL,
    "game_id" TEXT NOT NULL,
    "user_id" TEXT NOT NULL,
    "month" TEXT NOT NULL,
    "currency" TEXT NOT NULL,
    "amount" INTEGER NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "released_at" TIMESTAMP(3),

    CONSTRAINT "risk_minor_holds_pkey" PRIMARY KEY ("order_id")
);
