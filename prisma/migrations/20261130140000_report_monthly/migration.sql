-- Report aggregates per month, kept from report_daily by each day's roll-up: a year by month reads
-- twelve rows per key instead of 365 (see store/reports.ts).

-- CreateTable
CREATE TABLE "report_monthly" (
    "month" DATE NOT NULL,
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

    CONSTRAINT "report_monthly_pkey" PRIMARY KEY ("month","game_id","channel","region","currency")
);

-- The months of the days already rolled up.
INSERT INTO "report_monthly"
SELECT date_trunc('month', "day")::date, "game_id", "channel", "region", "currency", sum("orders_created"), sum("orders_paid"),
  sum("paid_amount"), sum("delivered"), sum("revenue"), sum("refunds"), sum("refund_amount"), sum("chargebacks"), sum("chargeback_amount")
FROM "report_daily"
GROUP BY 1, 2, 3, 4, 5;
