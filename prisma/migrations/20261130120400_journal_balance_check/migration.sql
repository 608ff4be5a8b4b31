-- The balance check of journal postings, per entry first, then one index lookup of each entry: the
-- plan no longer depends on how many postings one statement writes (the first version compared every
-- posting with every entry when a bulk insert wrote thousands).
CREATE OR REPLACE FUNCTION journal_postings_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  offending BIGINT;
BEGIN
  SELECT t.entry_id INTO offending
    FROM (SELECT entry_id, min(currency) AS currency, max(currency) AS other_currency, sum(amount) AS net,
                 coalesce(sum(amount) FILTER (WHERE amount > 0), 0)::bigint AS debits
            FROM new_postings GROUP BY entry_id) t
   WHERE t.net <> 0 OR t.currency <> t.other_currency
      OR (t.currency, t.debits) <> (SELECT e.currency, e.amount FROM "journal_entries" e WHERE e.id = t.entry_id)
   LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'journal entry % does not balance', offending USING ERRCODE = '23514';
  END IF;
  RETURN NULL;
END $$;
