-- A batch's staged row also carries the entities its alerts are about (as `alert_entities`
-- rows would: kind, value, time raised, alert id) and its detection roll-up counts (hour,
-- series, key, label, count), each packed by `sekimori_store::postings`. The background
-- move writes them into `alert_entities` and `detection_rollups` with the index entries,
-- in the same transaction that deletes the row, so a batch's transaction appends one row
-- where it wrote a few hundred rows into two B-trees ordered by entity and hour; readers
-- read the staged rows as well. NULL in a row staged before this migration: such a batch
-- wrote both tables itself.
ALTER TABLE event_index_staged ADD COLUMN alert_entities BYTEA;
ALTER TABLE event_index_staged ADD COLUMN rollups BYTEA;

-- Nothing appends to `event_index_recent` since 0034; its rows left from before are moved
-- into postings, and searches read it until then. Without an index on the value, each
-- search read the whole table, and on PostgreSQL also the dead rows the move left until
-- vacuum (18-94 ms a search over 2 million such rows).
CREATE INDEX event_index_recent_value ON event_index_recent (tenant_id, field, value, received_at, seq);
