-- The ledger: immutable, balanced double-entry journal (see domain/ledger).

-- CreateTable
CREATE TABLE "journal_entries" (
    "id" BIGSERIAL NOT NULL,
    "event_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "order_id" UUID,
    "game_id" TEXT,
    "channel" TEXT,
    "currency" TEXT NOT NULL,
    "amount" BIGINT NOT NULL,
    "reference" TEXT,
    "memo" TEXT,
    "effective_at" TIMESTAMP(3) NOT NULL,
    "recorded_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "journal_entries_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "journal_entries_amount_positive" CHECK ("amount" > 0)
);

-- CreateTable
CREATE TABLE "journal_postings" (
    "entry_id" BIGINT NOT NULL,
    "leg" SMALLINT NOT NULL,
    "account" TEXT NOT NULL,
    "currency" TEXT NOT NULL,
    "amount" BIGINT NOT NULL,

    CONSTRAINT "journal_postings_pkey" PRIMARY KEY ("entry_id","leg"),
    CONSTRAINT "journal_postings_amount_nonzero" CHECK ("amount" <> 0)
);

-- CreateIndex
CREATE UNIQUE INDEX "journal_entries_event_id_key" ON "journal_entries"("event_id");

-- CreateIndex
CREATE INDEX "journal_entries_order_id_idx" ON "journal_entries"("order_id");

-- CreateIndex
CREATE INDEX "journal_entries_effective_at_idx" ON "journal_entries"("effective_at");

-- CreateIndex
CREATE INDEX "journal_entries_reference_idx" ON "journal_entries"("reference");

-- CreateIndex
CREATE INDEX "journal_postings_account_entry_id_idx" ON "journal_postings"("account", "entry_id");

-- AddForeignKey
ALTER TABLE "journal_postings" ADD CONSTRAINT "journal_postings_entry_id_fkey" FOREIGN KEY ("entry_id") REFERENCES "journal_entries"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Entries are immutable: a correction is a new entry, never an update or a delete.
CREATE FUNCTION journal_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the journal is append-only (% on %): a correction is a new entry', TG_OP, TG_TABLE_NAME
    USING ERRCODE = '55000';
END $$;
CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON "journal_entries"
  FOR EACH STATEMENT EXECUTE FUNCTION journal_refuse_change();
CREATE TRIGGER journal_postings_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON "journal_postings"
  FOR EACH STATEMENT EXECUTE FUNCTION journal_refuse_change();

-- Every entry's postings are written by one statement, and must balance there: debits = credits per
-- currency, in the entry's currency, adding up to its amount. Checked once per statement.
CREATE FUNCTION journal_postings_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  offending BIGINT;
BEGIN
  SELECT p.entry_id INTO offending
    FROM new_postings p JOIN "journal_entries" e ON e.id = p.entry_id
   GROUP BY p.entry_id, e.currency, e.amount
  HAVING sum(p.amount) <> 0 OR bool_or(p.currency <> e.currency)
      OR coalesce(sum(p.amount) FILTER (WHERE p.amount > 0), 0) <> e.amount
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'journal entry % does not balance', offending USING ERRCODE = '23514';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER journal_postings_balanced AFTER INSERT ON "journal_postings"
  REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION journal_postings_balanced();

-- Opening entries for the orders that existed before the ledger, with the event ids the order
-- statements use from now on (so nothing is written twice).
WITH opening AS (
  SELECT o.id AS order_id, o.game_id, o.channel, o.paid_currency AS currency, o.paid_amount::bigint AS amount,
         e.kind, e.event_id, e.debit, e.credit, coalesce(o.paid_at, o.updated_at) AS effective_at
    FROM "orders" o
   CROSS JOIN LATERAL (VALUES
     ('PAYMENT_CAPTURED', 'captured:' || o.id, 'channel_clearing:' || o.channel, 'deferred_revenue:' || o.game_id,
       o.status IN ('PAID', 'DELIVERING', 'DELIVERED') OR (o.status = 'REFUNDED' AND o.status_reason IS DISTINCT FROM 'LATE_PAYMENT')),
     ('PAYMENT_HELD', 'held:' || o.id, 'channel_clearing:' || o.channel, 'suspense', o.status = 'MANUAL_REVIEW'),
     ('GOODS_DELIVERED', 'delivered:' || o.id, 'deferred_revenue:' || o.game_id, 'revenue:' || o.game_id, o.status = 'DELIVERED'),
     ('LATE_PAYMENT_RECEIVED', 'late-received:' || o.id, 'channel_clearing:' || o.channel, 'suspense',
       o.status = 'REFUNDED' AND o.status_reason = 'LATE_PAYMENT'),
     ('REFUND', 'refund:' || o.id,
       CASE WHEN o.status_reason = 'LATE_PAYMENT' THEN 'suspense' ELSE 'deferred_revenue:' || o.game_id END,
       'channel_clearing:' || o.channel, o.status = 'REFUNDED')
   ) AS e(kind, event_id, debit, credit, applies)
   WHERE e.applies AND o.paid_amount > 0 AND o.paid_currency IS NOT NULL
), entries AS (
  INSERT INTO "journal_entries" ("event_id", "kind", "order_id", "game_id", "channel", "currency", "amount", "memo", "effective_at")
  SELECT event_id, kind, order_id, game_id, channel, currency, amount, 'opening entry', effective_at FROM opening
  RETURNING id, event_id
)
INSERT INTO "journal_postings" ("entry_id", "leg", "account", "currency", "amount")
SELECT en.id, 1, op.debit, op.currency, op.amount FROM entries en JOIN opening op USING (event_id)
UNION ALL
SELECT en.id, 2, op.credit, op.currency, -op.amount FROM entries en JOIN opening op USING (event_id);
