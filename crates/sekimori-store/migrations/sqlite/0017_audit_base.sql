-- Where the live audit chain starts once older rows were archived (sekimori audit archive):
-- the last archived row's number and hash, signed with the server key. At most one row.
CREATE TABLE audit_base (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq BIGINT NOT NULL,
  hash BLOB NOT NULL,
  sig TEXT NOT NULL,
  archived_at BIGINT NOT NULL
);
