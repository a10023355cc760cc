-- Second factors (SQLite): TOTP credentials with their seed encrypted by the server's
-- secret key, and single-use recovery codes stored as SHA-256 hashes.
CREATE TABLE totp_credentials (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  secret_sealed BLOB NOT NULL,
  algorithm TEXT NOT NULL,
  digits INTEGER NOT NULL,
  period INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  confirmed_at INTEGER,
  -- The last time step accepted: a code of this step or an earlier one is refused.
  last_step INTEGER NOT NULL,
  failures INTEGER NOT NULL,
  last_failure_at INTEGER
);
CREATE INDEX totp_credentials_user ON totp_credentials (user_id);
CREATE TABLE recovery_codes (
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  code_hash BLOB NOT NULL,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  created_at INTEGER NOT NULL,
  used_at INTEGER,
  PRIMARY KEY (user_id, code_hash)
);
