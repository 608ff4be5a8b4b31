-- Issue 23: one intake for store notifications, and the sweeps that recover the ones that never came.
-- Where the first copy of a notification came from (a later copy from elsewhere is only counted).
ALTER TABLE "channel_notifications" ADD COLUMN "source" TEXT NOT NULL DEFAULT 'CALLBACK';

-- One run of a store sweep over one window of one store account.
CREATE TABLE "store_sweeps" (
    "id" UUID NOT NULL,
    "channel" TEXT NOT NULL,
    "pass" TEXT NOT NULL,
    "window_start" TIMESTAMP(3) NOT NULL,
    "window_end" TIMESTAMP(3) NOT NULL,
    "status" TEXT NOT NULL,
    "pages" INTEGER NOT NULL DEFAULT 0,
    "items_seen" INTEGER NOT NULL DEFAULT 0,
    "items_known" INTEGER NOT NULL DEFAULT 0,
    "items_recovered" INTEGER NOT NULL DEFAULT 0,
    "items_failed" INTEGER NOT NULL DEFAULT 0,
    "error" TEXT,
    "started_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMP(3),

    CONSTRAINT "store_sweeps_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "store_sweeps_channel_pass_window_end_idx" ON "store_sweeps"("channel", "pass", "window_end");

-- A notification a sweep recovered (its first copy came from the sweep): the report's detail.
CREATE TABLE "store_sweep_recoveries" (
    "id" BIGSERIAL NOT NULL,
    "sweep_id" UUID NOT NULL,
    "channel" TEXT NOT NULL,
    "dedupe_key" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "order_id" UUID,
    "first_tried_at" TIMESTAMP(3),
    "recovered_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "store_sweep_recoveries_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "store_sweep_recoveries_channel_dedupe_key_key" ON "store_sweep_recoveries"("channel", "dedupe_key");
CREATE INDEX "store_sweep_recoveries_sweep_id_idx" ON "store_sweep_recoveries"("sweep_id");
ALTER TABLE "store_sweep_recoveries" ADD CONSTRAINT "store_sweep_recoveries_sweep_id_fkey" FOREIGN KEY ("sweep_id") REFERENCES "store_sweeps"("id") ON DELETE CASCADE ON UPDATE CASCADE;
