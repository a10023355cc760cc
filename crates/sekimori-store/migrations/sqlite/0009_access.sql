-- Login-time rules and groups (SQLite): the tenant's time zone, a user's validity period
-- and login hours (JSON, docs/protocol.md 9.3), and groups with their own login hours.
ALTER TABLE tenants ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE users ADD COLUMN valid_from INTEGER;
ALTER TABLE users ADD COLUMN valid_until INTEGER;
ALTER TABLE users ADD COLUMN login_hours TEXT;
CREATE TABLE groups (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  name TEXT NOT NULL,
  login_hours TEXT,
  created_at INTEGER NOT NULL,
  UNIQUE (tenant_id, name)
);
CREATE TABLE group_members (
  group_id TEXT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);
