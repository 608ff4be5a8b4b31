-- The console's "orders of a channel account, newest first": without it an account with few orders
-- (a new one, or a name typed wrong) is a scan of every order (0.8 s over a million).
CREATE INDEX "orders_channel_created_at_idx" ON "orders"("channel", "created_at");
