-- Required-level overrides (docs/respond.md): a user's logins raised to a level, push
-- approvals suspended, or logins blocked until a time, by a response policy or an admin,
-- with the reason; lifted early with a reason.
CREATE TABLE user_overrides (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  action TEXT NOT NULL,
  level INTEGER NOT NULL,
  reason TEXT NOT NULL,
  policy TEXT,
  source TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  lifted_at INTEGER,
  lifted_by TEXT,
  lift_reason TEXT
);
CREATE INDEX user_overrides_user ON user_overrides (user_id, expires_at);
CREATE INDEX user_overrides_tenant ON user_overrides (tenant_id, expires_at);
