-- Game secrets are sealed like channel credentials (AES-256-GCM under CREDENTIALS_KEYS). Rows written
-- before keep their plaintext in "secret" until the API seals them at start-up (sealLegacyGameSecrets).
ALTER TABLE "games" ALTER COLUMN "secret" DROP NOT NULL,
    ADD COLUMN "secret_ciphertext" TEXT,
    ADD COLUMN "secret_key_id" TEXT;

ALTER TABLE "games" ADD CONSTRAINT "games_secret_present"
    CHECK (("secret_ciphertext" IS NOT NULL AND "secret_key_id" IS NOT NULL) OR "secret" IS NOT NULL);
