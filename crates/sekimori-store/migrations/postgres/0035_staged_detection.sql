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
