-- Per-tenant detection settings: how long ingested events and dead letters are kept (PostgreSQL).
CREATE TABLE watch_settings (
  tenant_id TEXT PRIMARY KEY,
  retention_days BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
