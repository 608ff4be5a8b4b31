-- CreateTable
CREATE TABLE "activity_failures" (
    "workflow_id" TEXT NOT NULL,
    "activity_type" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL,
    "last_error" TEXT NOT NULL,
    "first_failed_at" TIMESTAMP(3) NOT NULL,
    "last_failed_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "activity_failures_pkey" PRIMARY KEY ("workflow_id","activity_type")
);

-- CreateIndex
CREATE INDEX "activity_failures_first_failed_at_idx" ON "activity_failures"("first_failed_at");
