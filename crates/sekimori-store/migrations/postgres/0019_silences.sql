-- Alert silences per tenant (docs/respond.md): matchers, a window, who and why.
CREATE TABLE silences (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  matchers TEXT NOT NULL,
  starts_at BIGINT NOT NULL,
  ends_at BIGINT NOT NULL,
  created_by TEXT NOT NULL,
  comment TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX silences_tenant_ends ON silences (tenant_id, ends_at);
