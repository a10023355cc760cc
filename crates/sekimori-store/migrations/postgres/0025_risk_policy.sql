-- Per-tenant login risk policies (docs/risk.md), every version kept (PostgreSQL).
CREATE TABLE tenant_risk_policy (
  tenant_id TEXT NOT NULL,
  version BIGINT NOT NULL,
  doc TEXT NOT NULL,
  author TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, version)
);
