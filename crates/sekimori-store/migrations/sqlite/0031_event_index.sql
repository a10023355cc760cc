-- The entities each ingested event is about (its user, IP address and host, as the
-- baselines find them), one row each, so a search for one entity's events reads an index
-- rather than every event of the range. Pruned with the events (`received_at`). Events
-- stored before this table existed are found by scanning.
CREATE TABLE event_index (
  tenant_id TEXT NOT NULL,
  field TEXT NOT NULL,
  value TEXT NOT NULL,
  seq INTEGER NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, field, value, received_at, seq)
);
CREATE INDEX event_index_received ON event_index (received_at);
