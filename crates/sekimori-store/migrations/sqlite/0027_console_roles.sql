-- Console roles (SQLite): the admin-token roles given to users or to groups (every
-- member), so console users are authorised by the same table as tokens. Gone with the user
-- or the group.
CREATE TABLE console_grants (
  tenant_id TEXT NOT NULL REFERENCES tenants(id),
  subject_kind TEXT NOT NULL,
  subject_id TEXT NOT NULL,
  role TEXT NOT NULL,
  scope TEXT,
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  PRIMARY KEY (tenant_id, subject_kind, subject_id)
);
CREATE INDEX console_grants_subject ON console_grants (subject_id);
