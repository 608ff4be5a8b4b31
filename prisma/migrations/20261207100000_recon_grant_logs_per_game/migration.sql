-- A grant log entry is one game's record of one of its deliveries: keyed per game, so that another
-- game posting the same deliveryId neither takes its place nor is mistaken for it.
ALTER TABLE "grant_logs" DROP CONSTRAINT "grant_logs_pkey";
ALTER TABLE "grant_logs" ADD CONSTRAINT "grant_logs_pkey" PRIMARY KEY ("game_id", "delivery_id");
