-- Alert triage (docs/respond.md): an alert's state (no row: firing), its assignee, who
-- changed it last, and comments.
CREATE TABLE alert_triage (
  alert_id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  state TEXT NOT NULL,
  assignee TEXT,
  changed_at INTEGER NOT NULL,
  changed_by TEXT NOT NULL
);
CREATE INDEX alert_triage_tenant ON alert_triage (tenant_id, state);
CREATE TABLE alert_comments (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  alert_id TEXT NOT NULL,
  author TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX alert_comments_alert ON alert_comments (alert_id, created_at);
