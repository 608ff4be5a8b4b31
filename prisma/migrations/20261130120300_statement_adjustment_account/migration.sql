-- A foreign payment planted in a sandbox statement belongs to one merchant account (or to every one).
-- AlterTable
ALTER TABLE "sandbox_statement_adjustments" ADD COLUMN "channel_id" TEXT;
