-- One row per node, rewritten by the readiness check: proof that the store takes writes.
CREATE TABLE health_probe (
  node TEXT PRIMARY KEY,
  written_at BIGINT NOT NULL
);
