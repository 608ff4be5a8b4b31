-- Issue 23: a PER_ORDER game answers consumption requests only for orders created with consumptionDataConsent: true;
-- grant-log lines report how much of a grant the player has used (the latest report wins).
ALTER TABLE "orders" ADD COLUMN "consumption_data_consent" BOOLEAN;

ALTER TABLE "grant_logs" ADD COLUMN "consumption_percentage" INTEGER,
    ADD COLUMN "consumption_reported_at" TIMESTAMP(3),
    ADD CONSTRAINT "grant_logs_consumption_percentage_check" CHECK ("consumption_percentage" BETWEEN 0 AND 100000);
