-- Sekimori gate schema (SQLite). Times are Unix milliseconds; ids are UUID text.
CREATE TABLE tenants (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  standby_required BOOLEAN NOT NULL,
  standby_seconds INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE admin_tokens (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  name TEXT NOT NULL,
  secret_hash BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE TABLE apps (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  secret_hash BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE TABLE users (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  username TEXT NOT NULL,
  email TEXT,
  display_name TEXT,
  disabled BOOLEAN NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (tenant_id, username)
);
CREATE TABLE enrollments (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  code_hash BLOB NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER,
  device_id TEXT
);
CREATE TABLE devices (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  public_key BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX devices_user ON devices(user_id);
CREATE TABLE device_nonces (
  device_id TEXT NOT NULL,
  nonce TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (device_id, nonce)
);
CREATE INDEX device_nonces_expiry ON device_nonces(expires_at);
CREATE TABLE standby_windows (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  device_id TEXT NOT NULL,
  opened_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  closed_at INTEGER
);
CREATE INDEX standby_user ON standby_windows(user_id, expires_at);
CREATE TABLE login_requests (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  app_id TEXT,
  number INTEGER NOT NULL,
  environment TEXT NOT NULL,
  env_key TEXT NOT NULL,
  env_known BOOLEAN NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  status TEXT NOT NULL,
  decided_at INTEGER,
  device_id TEXT,
  assertion_jti TEXT
);
CREATE TABLE inbox (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  login_id TEXT,
  body TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  dismissed_at INTEGER
);
CREATE INDEX inbox_user ON inbox(user_id, expires_at);
CREATE TABLE qr_sessions (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  token_hash BLOB NOT NULL UNIQUE,
  poll_hash BLOB NOT NULL,
  environment TEXT NOT NULL,
  env_key TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER,
  user_id TEXT,
  device_id TEXT,
  assertion_jti TEXT
);
CREATE TABLE assertions (
  jti TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  username TEXT NOT NULL,
  login_id TEXT NOT NULL,
  level INTEGER NOT NULL,
  amr TEXT NOT NULL,
  issued_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  consumed_at INTEGER,
  consumed_by TEXT
);
CREATE TABLE tickets (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  entitlement TEXT NOT NULL,
  issued_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  redeemed_at INTEGER,
  redeemed_by TEXT
);
CREATE INDEX tickets_user ON tickets(user_id, expires_at);
CREATE TABLE environments (
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  env_key TEXT NOT NULL,
  tenant_id TEXT NOT NULL,
  browser TEXT NOT NULL,
  os TEXT NOT NULL,
  network TEXT NOT NULL,
  country TEXT,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  last_login_at INTEGER,
  trusted BOOLEAN NOT NULL,
  PRIMARY KEY (user_id, env_key)
);
CREATE TABLE audit_events (
  seq INTEGER PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  ts INTEGER NOT NULL,
  action TEXT NOT NULL,
  outcome TEXT NOT NULL,
  user_id TEXT,
  doc TEXT NOT NULL,
  prev_hash BLOB NOT NULL,
  hash BLOB NOT NULL
);
CREATE INDEX audit_ts ON audit_events(tenant_id, ts);
CREATE INDEX audit_user ON audit_events(user_id, ts);
