-- The OIDC provider (SQLite): clients (an app with redirect URIs), signing keys (private
-- part sealed under the server's secret key), authorization codes and refresh tokens (only
-- their SHA-256 is kept). A refresh token belongs to a family (every token rotated from one
-- code); presenting a used one revokes the family.
CREATE TABLE oidc_clients (
  app_id TEXT PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  public BOOLEAN NOT NULL,
  redirect_uris TEXT NOT NULL,
  post_logout_redirect_uris TEXT NOT NULL,
  id_token_alg TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE oidc_keys (
  kid TEXT PRIMARY KEY,
  alg TEXT NOT NULL,
  private_sealed BLOB NOT NULL,
  public_jwk TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  retired_at INTEGER
);
CREATE TABLE oidc_codes (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  client_id TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  session_id TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  scope TEXT NOT NULL,
  nonce TEXT,
  code_challenge TEXT,
  auth_time INTEGER NOT NULL,
  level INTEGER NOT NULL,
  amr TEXT NOT NULL,
  family_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  consumed_at INTEGER
);
CREATE TABLE oidc_refresh_tokens (
  id TEXT PRIMARY KEY,
  family_id TEXT NOT NULL,
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  client_id TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  session_id TEXT NOT NULL,
  scope TEXT NOT NULL,
  auth_time INTEGER NOT NULL,
  level INTEGER NOT NULL,
  amr TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER,
  revoked_at INTEGER
);
CREATE INDEX oidc_refresh_family ON oidc_refresh_tokens (family_id);
CREATE INDEX oidc_refresh_user ON oidc_refresh_tokens (user_id);
