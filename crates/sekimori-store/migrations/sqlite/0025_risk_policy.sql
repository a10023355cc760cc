-- Per-tenant login risk policies (docs/risk.md), every version kept (SQLite).
CREATE TABLE tenant_risk_policy (
  tenant_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  doc TEXT NOT NULL,
  author TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, version)
);
