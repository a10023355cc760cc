-- Per-tenant detection tuning, every version kept (PostgreSQL).
CREATE TABLE tenant_tuning (
  tenant_id TEXT NOT NULL,
  version BIGINT NOT NULL,
  doc TEXT NOT NULL,
  author TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, version)
);
