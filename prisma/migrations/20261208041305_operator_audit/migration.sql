-- Operators by name: the audit keeps who acted (the token's name) and, apart, the free-text
-- X-Operator they acted on behalf of; GET /v1/admin/audit reads both trails newest first.
ALTER TABLE "config_audit" ADD COLUMN "on_behalf_of" TEXT;
ALTER TABLE "ops_actions" ADD COLUMN "on_behalf_of" TEXT;
CREATE INDEX "config_audit_at_idx" ON "config_audit"("at");
CREATE INDEX "ops_actions_created_at_idx" ON "ops_actions"("created_at");
