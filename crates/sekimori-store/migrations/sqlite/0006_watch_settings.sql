-- Per-tenant detection settings: how long ingested events and dead letters are kept (SQLite).
CREATE TABLE watch_settings (
  tenant_id TEXT PRIMARY KEY,
  retention_days INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
