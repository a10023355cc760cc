-- The ordered search index as postings: one row per tenant, field (an entity's kind or
-- `field:<name>`), value and hour, listing the events received in that hour that have the
-- value (`entries`, packed newest first by `sekimori_store::postings`), with the newest
-- and oldest of their times. The background move writes one row per value per run (a few
-- thousand rows every two seconds where `event_index` took one row per event and value),
-- so a run writes a few pages at the end of the table and its index. `event_index` keeps
-- the rows written before this table existed.
CREATE TABLE event_postings (
  id BIGSERIAL PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  field TEXT NOT NULL,
  value TEXT NOT NULL,
  newest_at BIGINT NOT NULL,
  oldest_at BIGINT NOT NULL,
  entries BYTEA NOT NULL
);
CREATE INDEX event_postings_value ON event_postings (tenant_id, field, value, newest_at, id);
CREATE INDEX event_postings_newest ON event_postings (newest_at);

-- The staging table, one row per ingest batch: its index entries (key, value, event
-- number; packed by `sekimori_store::postings::encode_staged`), appended in the batch's
-- transaction, moved into postings every 2 s. It replaces `event_index_recent` (one row per
-- entry), whose rows left from before are moved the same way; searches read all four.
CREATE TABLE event_index_staged (
  id BIGSERIAL PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  received_at BIGINT NOT NULL,
  entries BYTEA NOT NULL
);
