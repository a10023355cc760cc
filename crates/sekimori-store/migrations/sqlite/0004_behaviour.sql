-- Alerts carry who they are about and an excerpt of their event (kept after the event is
-- pruned); behaviour baselines are persisted per tenant and entity (SQLite).
ALTER TABLE alerts ADD COLUMN entities TEXT NOT NULL DEFAULT '{}';
ALTER TABLE alerts ADD COLUMN excerpt TEXT NOT NULL DEFAULT '{}';
CREATE TABLE behaviour_profiles (
  tenant_id TEXT NOT NULL,
  entity TEXT NOT NULL,
  doc TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, entity)
);
