-- The entities each alert is about (its user, IP address, host), one row each, so the
-- alerts about one entity are found by index rather than by reading every alert's JSON.
CREATE TABLE alert_entities (
  tenant_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  value TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  alert_id TEXT NOT NULL,
  PRIMARY KEY (tenant_id, kind, value, created_at, alert_id)
);
INSERT INTO alert_entities (tenant_id, kind, value, created_at, alert_id)
  SELECT a.tenant_id, j.key, j.value, a.created_at, a.id
  FROM alerts a, json_each(a.entities) j
  WHERE j.type = 'text';
