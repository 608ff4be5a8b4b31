-- A game may require its answer to a delivery to echo the deliveryId (issue 16.1): off for existing games.
ALTER TABLE "games" ADD COLUMN "require_delivery_echo" BOOLEAN NOT NULL DEFAULT false;
