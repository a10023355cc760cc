-- Second factors (PostgreSQL): TOTP credentials with their seed encrypted by the server's
-- secret key, and single-use recovery codes stored as SHA-256 hashes.
CREATE TABLE totp_credentials (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  secret_sealed BYTEA NOT NULL,
  algorithm TEXT NOT NULL,
  digits BIGINT NOT NULL,
  period BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  confirmed_at BIGINT,
  -- The last time step accepted: a code of this step or an earlier one is refused.
  last_step BIGINT NOT NULL,
  failures BIGINT NOT NULL,
  last_failure_at BIGINT
);
CREATE INDEX totp_credentials_user ON totp_credentials (user_id);
CREATE TABLE recovery_codes (
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  code_hash BYTEA NOT NULL,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  created_at BIGINT NOT NULL,
  used_at BIGINT,
  PRIMARY KEY (user_id, code_hash)
);
