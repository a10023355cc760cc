-- Detection (issue 4): ingest sources, ingested events, dead letters, alerts (PostgreSQL).
CREATE TABLE ingest_sources (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  name TEXT NOT NULL,
  secret_hash BYTEA NOT NULL,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT
);
CREATE TABLE ingested_events (
  seq BIGSERIAL PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  source_id TEXT NOT NULL,
  received_at BIGINT NOT NULL,
  doc TEXT NOT NULL
);
CREATE INDEX ingested_tenant ON ingested_events(tenant_id, received_at);
CREATE TABLE dead_letters (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  source_id TEXT NOT NULL,
  received_at BIGINT NOT NULL,
  reason TEXT NOT NULL,
  sample TEXT NOT NULL
);
CREATE INDEX dead_letters_tenant ON dead_letters(tenant_id, received_at);
CREATE TABLE alerts (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  rule_id TEXT,
  title TEXT NOT NULL,
  level TEXT NOT NULL,
  tags TEXT NOT NULL,
  source_id TEXT NOT NULL,
  event_seq BIGINT NOT NULL,
  matched TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX alerts_tenant ON alerts(tenant_id, created_at);
