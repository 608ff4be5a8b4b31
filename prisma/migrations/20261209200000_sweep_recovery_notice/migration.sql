-- What a person should know of a recovered item (e.g. a Google purchase voided as never acknowledged,
-- for an order never seen paid: its purchase notification was lost).
ALTER TABLE "store_sweep_recoveries" ADD COLUMN "notice" TEXT;
