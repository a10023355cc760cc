-- Search fields (`[detect] search_fields`): fields of ingested events whose values are kept
-- in `event_index` (as `field:<name>`) as events are stored, so a search on one reads an
-- index. `since`: the index is complete for events received at or after it (ms); events
-- before it are scanned until a background pass has indexed them too (`since` then moves
-- back, to 0 when every stored event is indexed).
CREATE TABLE search_fields (
  field TEXT PRIMARY KEY,
  since BIGINT NOT NULL
);
