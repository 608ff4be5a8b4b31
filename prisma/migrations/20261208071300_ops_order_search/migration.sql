-- The console's order search: by user id across games, and by the channel's trade number.
CREATE INDEX "orders_user_id_created_at_idx" ON "orders"("user_id", "created_at");
CREATE INDEX "orders_channel_txn_id_idx" ON "orders"("channel_txn_id");
