-- Per-tenant alert routing documents (docs/respond.md), every version kept (SQLite).
CREATE TABLE tenant_routing (
  tenant_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  doc TEXT NOT NULL,
  author TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, version)
);
