-- Per-tenant detection tuning, every version kept (SQLite).
CREATE TABLE tenant_tuning (
  tenant_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  doc TEXT NOT NULL,
  author TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, version)
);
