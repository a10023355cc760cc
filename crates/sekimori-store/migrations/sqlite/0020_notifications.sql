-- Alert delivery (docs/respond.md): which stored alerts the dispatcher has seen through to
-- their notifications, the notification log that keeps two nodes (or a restarted one) from
-- sending the same group twice, and every delivery attempt with its outcome.
ALTER TABLE alerts ADD COLUMN dispatched_at INTEGER;
-- Alerts stored before this version are not notified after an upgrade.
UPDATE alerts SET dispatched_at = created_at;
CREATE INDEX alerts_undispatched ON alerts (created_at, id) WHERE dispatched_at IS NULL;
CREATE TABLE notification_log (
  tenant_id TEXT NOT NULL,
  channel TEXT NOT NULL,
  group_key TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  notified_at INTEGER NOT NULL,
  state TEXT NOT NULL,
  owner TEXT NOT NULL,
  lease_until INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, channel, group_key)
);
CREATE TABLE notification_attempts (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  channel TEXT NOT NULL,
  group_key TEXT NOT NULL,
  content_hash TEXT NOT NULL,
  alerts INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  at INTEGER NOT NULL,
  outcome TEXT NOT NULL
);
CREATE INDEX notification_attempts_tenant ON notification_attempts (tenant_id, at);
