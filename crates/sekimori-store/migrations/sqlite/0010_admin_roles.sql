-- Admin roles (SQLite): `admin`, `auditor` or `operator`; an operator's scope is JSON
-- `{"capabilities":[…],"groups":[…]}`.
ALTER TABLE admin_tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';
ALTER TABLE admin_tokens ADD COLUMN scope TEXT;
