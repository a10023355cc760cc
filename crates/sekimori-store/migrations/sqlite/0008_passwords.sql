-- Passwords and login throttling (SQLite): one Argon2id PHC string per user, the
-- tenant's policy level, and failure counters per username and per client network.
ALTER TABLE tenants ADD COLUMN password_policy INTEGER NOT NULL DEFAULT 2;
CREATE TABLE passwords (
  user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
-- key: `user:<tenant>:<username>` or `net:<tenant>:<network>`. Failures count within a
-- window from window_start; reaching the limit sets locked_until and starts counting anew.
CREATE TABLE login_throttle (
  key TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  failures INTEGER NOT NULL,
  window_start INTEGER NOT NULL,
  locked_until INTEGER
);
