-- Report aggregates, maintained per day (see store/reports.ts): reports read these, never the orders.

-- CreateTable
CREATE TABLE "report_daily" (
    "day" DATE NOT NULL,
    "game_id" TEXT NOT NULL,
    "channel" TEXT NOT NULL,
    "region" TEXT NOT NULL,
    "currency" TEXT NOT NULL,
    "orders_created" INTEGER NOT NULL,
    "orders_paid" INTEGER NOT NULL,
    "paid_amount" BIGINT NOT NULL,
    "delivered" INTEGER NOT NULL,
    "revenue" BIGINT NOT NULL,
    "refunds" INTEGER NOT NULL,
    "refund_amount" BIGINT NOT NULL,
    "chargebacks" INTEGER NOT NULL,
    "chargeback_amount" BIGINT NOT NULL,

    CONSTRAINT "report_daily_pkey" PRIMARY KEY ("day","game_id","channel","region","currency")
);

-- CreateTable
CREATE TABLE "report_channel_fees_daily" (
    "day" DATE NOT NULL,
    "channel" TEXT NOT NULL,
    "currency" TEXT NOT NULL,
    "fees" BIGINT NOT NULL,

    CONSTRAINT "report_channel_fees_daily_pkey" PRIMARY KEY ("day","channel","currency")
);

-- CreateTable
CREATE TABLE "report_rollups" (
    "day" DATE NOT NULL,
    "channel" TEXT NOT NULL,
    "rolled_up_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "report_rollups_pkey" PRIMARY KEY ("day","channel")
);
