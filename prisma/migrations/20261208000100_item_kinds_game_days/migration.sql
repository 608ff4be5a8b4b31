-- Item kinds (a monthly card carries its terms) and the game's day (time zone and reset hour) that
-- daily limits, monthly spending caps and card days are counted in.
ALTER TABLE "items" ADD COLUMN "kind" TEXT NOT NULL DEFAULT 'CONSUMABLE';
ALTER TABLE "items" ADD COLUMN "monthly_card" JSONB;
ALTER TABLE "games" ADD COLUMN "time_zone" TEXT NOT NULL DEFAULT 'Asia/Shanghai';
ALTER TABLE "games" ADD COLUMN "daily_reset_hour" INTEGER NOT NULL DEFAULT 0;
