-- The console's sign-ins: a cookie stands for one row (its SHA-256, never the cookie itself).
CREATE TABLE "console_sessions" (
    "id" TEXT NOT NULL,
    "operator" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expires_at" TIMESTAMP(3) NOT NULL,
    "ended_at" TIMESTAMP(3),

    CONSTRAINT "console_sessions_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "console_sessions_expires_at_idx" ON "console_sessions"("expires_at");
