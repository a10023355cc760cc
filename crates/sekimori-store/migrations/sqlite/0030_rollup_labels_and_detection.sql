-- 1. Audit roll-ups gain a label: for the actions whose count a dashboard divides further
--    (today the risk decision of `auth.risk.assessed`, with ' new' when the environment
--    was new to the user), the value that divides it; '' for the rest. The risk rows are counted again from the log by decision; the hours whose
--    rows were archived keep their count, with no label.
CREATE TABLE audit_rollups_labelled (
  tenant_id TEXT NOT NULL,
  hour INTEGER NOT NULL,
  action TEXT NOT NULL,
  outcome TEXT NOT NULL,
  label TEXT NOT NULL DEFAULT '',
  n INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, hour, action, outcome, label)
);
INSERT INTO audit_rollups_labelled (tenant_id, hour, action, outcome, label, n)
SELECT tenant_id, hour, action, outcome, '', n FROM audit_rollups WHERE action <> 'auth.risk.assessed';
INSERT INTO audit_rollups_labelled (tenant_id, hour, action, outcome, label, n)
SELECT tenant_id, (ts / 3600000) * 3600000, action, outcome,
       COALESCE(json_extract(doc, '$.sekimori.risk.decision'), '') || CASE WHEN json_extract(doc, '$.sekimori.environment.known') = 0 THEN ' new' ELSE '' END, COUNT(*)
FROM audit_events WHERE action = 'auth.risk.assessed'
GROUP BY tenant_id, (ts / 3600000) * 3600000, action, outcome,
         COALESCE(json_extract(doc, '$.sekimori.risk.decision'), '') || CASE WHEN json_extract(doc, '$.sekimori.environment.known') = 0 THEN ' new' ELSE '' END;
INSERT INTO audit_rollups_labelled (tenant_id, hour, action, outcome, label, n)
SELECT r.tenant_id, r.hour, r.action, r.outcome, '', r.n FROM audit_rollups r
WHERE r.action = 'auth.risk.assessed' AND NOT EXISTS (
  SELECT 1 FROM audit_rollups_labelled l
  WHERE l.tenant_id = r.tenant_id AND l.hour = r.hour AND l.action = r.action AND l.outcome = r.outcome);
DROP TABLE audit_rollups;
ALTER TABLE audit_rollups_labelled RENAME TO audit_rollups;

-- 2. Detection roll-ups, kept in the transaction that stores each ingest batch: per tenant
--    and hour, `series` `events` and `dead_letters` (key: the source), `alerts` (key: the
--    rule's title, label: its level) and `entities` (key: user, ip or host, label: the
--    value). Filled here from what is stored.
CREATE TABLE detection_rollups (
  tenant_id TEXT NOT NULL,
  hour INTEGER NOT NULL,
  series TEXT NOT NULL,
  key TEXT NOT NULL,
  label TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, hour, series, key, label)
);
INSERT INTO detection_rollups (tenant_id, hour, series, key, label, n)
SELECT tenant_id, (received_at / 3600000) * 3600000, 'events', source_id, '', COUNT(*)
FROM ingested_events GROUP BY tenant_id, (received_at / 3600000) * 3600000, source_id;
INSERT INTO detection_rollups (tenant_id, hour, series, key, label, n)
SELECT tenant_id, (received_at / 3600000) * 3600000, 'dead_letters', source_id, '', COUNT(*)
FROM dead_letters GROUP BY tenant_id, (received_at / 3600000) * 3600000, source_id;
INSERT INTO detection_rollups (tenant_id, hour, series, key, label, n)
SELECT tenant_id, (created_at / 3600000) * 3600000, 'alerts', title, level, COUNT(*)
FROM alerts GROUP BY tenant_id, (created_at / 3600000) * 3600000, title, level;
INSERT INTO detection_rollups (tenant_id, hour, series, key, label, n)
SELECT tenant_id, (created_at / 3600000) * 3600000, 'entities', kind, value, COUNT(*)
FROM alert_entities GROUP BY tenant_id, (created_at / 3600000) * 3600000, kind, value;
