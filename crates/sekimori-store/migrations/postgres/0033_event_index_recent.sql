-- The search index's newest rows, appended by each ingest batch in its transaction (cheap:
-- rows go to the end of the table), and moved into `event_index` (ordered by entity and
-- value) in large sorted runs in the background, so each of its pages is written once per
-- run rather than once per row. A search reads both.
CREATE TABLE event_index_recent (
  id BIGSERIAL PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  field TEXT NOT NULL,
  value TEXT NOT NULL,
  seq BIGINT NOT NULL,
  received_at BIGINT NOT NULL
);
