-- Audit roll-ups (PostgreSQL): audit events counted per tenant, hour, action and outcome,
-- kept in the same transaction as each audit row, so dashboards read a few thousand rows for
-- a month instead of scanning millions. Filled here from the rows already in the log; kept
-- when old audit rows are archived.
CREATE TABLE audit_rollups (
  tenant_id TEXT NOT NULL,
  hour BIGINT NOT NULL,
  action TEXT NOT NULL,
  outcome TEXT NOT NULL,
  n BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, hour, action, outcome)
);
INSERT INTO audit_rollups (tenant_id, hour, action, outcome, n)
SELECT tenant_id, (ts / 3600000) * 3600000, action, outcome, COUNT(*)
FROM audit_events GROUP BY tenant_id, (ts / 3600000) * 3600000, action, outcome;
