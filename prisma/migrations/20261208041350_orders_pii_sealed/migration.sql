-- An order's client IP and device id at rest: sealed (AES-256-GCM under PII_KEYS, `<keyId>:<base64>`)
-- plus an HMAC-SHA256 digest under PII_HASH_KEY for lookups (infra/pii.ts). The plaintext columns
-- are no longer written; `npm run seal-order-pii` seals and clears the rows written before.
ALTER TABLE "orders" ADD COLUMN "client_ip_sealed" TEXT;
ALTER TABLE "orders" ADD COLUMN "client_ip_digest" TEXT;
ALTER TABLE "orders" ADD COLUMN "device_id_sealed" TEXT;
ALTER TABLE "orders" ADD COLUMN "device_id_digest" TEXT;
CREATE INDEX "orders_client_ip_digest_idx" ON "orders"("client_ip_digest");
CREATE INDEX "orders_device_id_digest_idx" ON "orders"("device_id_digest");
