-- A browser's single sign-on: the id stays the same when a login or step-up rotates the
-- session, so tokens issued to relying parties (OIDC `sid`) outlive the rotation and end
-- with the sign-on (logout, revocation, timeouts).
ALTER TABLE sessions ADD COLUMN sso_id TEXT NOT NULL DEFAULT '';
UPDATE sessions SET sso_id = id;
CREATE INDEX sessions_sso ON sessions (sso_id);
