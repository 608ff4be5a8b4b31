-- Staged statements are copies of what a channel publishes: a run that lost them (PostgreSQL crashed)
-- fetches them again. Unlogged, a million lines are staged without writing them to the WAL too.
ALTER TABLE "statement_lines" SET UNLOGGED;
