-- Per-tenant alert routing documents (docs/respond.md), every version kept (PostgreSQL).
CREATE TABLE tenant_routing (
  tenant_id TEXT NOT NULL,
  version BIGINT NOT NULL,
  doc TEXT NOT NULL,
  author TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, version)
);
