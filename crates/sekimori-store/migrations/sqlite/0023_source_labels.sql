-- Labels an ingest source gives its alerts for routing (docs/respond.md), e.g.
-- {"environment": "production"}: a JSON object of strings.
ALTER TABLE ingest_sources ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
