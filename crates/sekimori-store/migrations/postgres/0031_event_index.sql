-- The entities each ingested event is about (its user, IP address and host, as the
-- baselines find them), one row each, so a search for one entity's events reads an index
-- rather than every event of the range. Pruned with the events (`received_at`). Events
-- stored before this table existed are found by scanning.
CREATE TABLE event_index (
  tenant_id TEXT NOT NULL,
  field TEXT NOT NULL,
  value TEXT NOT NULL,
  seq BIGINT NOT NULL,
  received_at BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, field, value, received_at, seq)
);
CREATE INDEX event_index_received ON event_index (received_at);
-- Newest first by (received_at, seq) without a sort (SQLite's index holds the rowid).
CREATE INDEX ingested_tenant_received_seq ON ingested_events (tenant_id, received_at, seq);
