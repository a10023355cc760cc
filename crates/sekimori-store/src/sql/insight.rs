// Looking back over what detection stored (`InsightStore`): the alerts about an entity, the
// detection roll-ups and search of the stored events, and how a batch's roll-up counts are
// made (`store_ingest` in `watch.rs` writes them).

#[async_trait]
impl InsightStore for This {
    async fn alerts_about(
        &self,
        tenant_id: &TenantId,
        entity: &Entity,
        state: Option<AlertState>,
        since: Timestamp,
        limit: i64,
    ) -> StoreResult<Vec<AlertRecord>> {
        // The staged batches first, then the moved rows: an entry moved in between is found
        // in the one or the other, and an alert found twice is kept once.
        let staged = staged_alerts_about(self, tenant_id, entity, since).await?;
        let with_state = " AND COALESCE(t.state, 'firing') = $6";
        let sql = format!(
            "SELECT a.* FROM alert_entities e JOIN alerts a ON a.id = e.alert_id \
             LEFT JOIN alert_triage t ON t.alert_id = a.id \
             WHERE e.tenant_id = $1 AND e.kind = $2 AND e.value = $3 AND e.created_at >= $4{} \
             ORDER BY e.created_at DESC, e.alert_id DESC LIMIT $5",
            if state.is_some() { with_state } else { "" }
        );
        let mut query = q(&sql)
            .bind(tenant_id)
            .bind(entity.kind.as_str())
            .bind(entity.value.as_str())
            .bind(since)
            .bind(limit.max(0));
        if let Some(state) = state {
            query = query.bind(state);
        }
        let mut alerts: Vec<AlertRecord> = self.read_all(query).await?;
        if !staged.is_empty() {
            alerts.extend(alerts_by_id(self, tenant_id, state, &staged).await?);
            alerts.sort_unstable_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
            alerts.dedup_by(|a, b| a.id == b.id);
            alerts.truncate(usize::try_from(limit).unwrap_or(0));
        }
        Ok(alerts)
    }

    async fn detection_rollups(
        &self,
        tenant_id: &TenantId,
        since: Timestamp,
        until: Timestamp,
    ) -> StoreResult<Vec<DetectionRollup>> {
        let from = since.floor_to(HOUR_MS);
        // The rows and the staged batches' counts in one statement, so both are read as of
        // one moment: a batch moved meanwhile is counted once, in the one or the other.
        let parts: Vec<RollupPart> = self
            .read_all(
                q("SELECT hour, series, key, label, n, NULL AS staged_id, NULL AS staged FROM detection_rollups \
                   WHERE tenant_id = $1 AND hour >= $2 AND hour < $3 \
                   UNION ALL SELECT NULL, NULL, NULL, NULL, NULL, id, rollups FROM event_index_staged \
                   WHERE tenant_id = $1 AND rollups IS NOT NULL")
                .bind(tenant_id)
                .bind(from)
                .bind(until),
            )
            .await?;
        // The stored rows are each key once; the staged counts (the last seconds' batches)
        // are added to theirs, or are rows of their own.
        let mut rows: Vec<DetectionRollup> = Vec::with_capacity(parts.len());
        let mut staged: std::collections::HashMap<(i64, String, String, String), i64> = Default::default();
        for part in parts {
            match part {
                RollupPart::Stored(r) => rows.push(r),
                RollupPart::Staged { id, rollups } => {
                    let counts = crate::postings::decode_rollups(&rollups).map_err(staged_corrupt(id, "rollups"))?;
                    for (hour, series, key, label, n) in counts {
                        if hour >= from.millis() && hour < until.millis() {
                            *staged.entry((hour, series.into(), key.into(), label.into())).or_default() += n;
                        }
                    }
                }
            }
        }
        // Stored rows come in key order (the primary key's), so sorting is nearly free; each
        // staged count is then found by binary search.
        rows.sort_unstable_by(|a, b| order(a).cmp(&order(b)));
        let mut new_keys = Vec::new();
        for ((hour, series, key, label), n) in staged {
            let at = rows.binary_search_by(|r| order(r).cmp(&(hour, series.as_str(), key.as_str(), label.as_str())));
            match at {
                Ok(i) => rows[i].n += n,
                Err(_) => new_keys.push(DetectionRollup { hour, series, key, label, n }),
            }
        }
        if !new_keys.is_empty() {
            rows.extend(new_keys);
            rows.sort_unstable_by(|a, b| order(a).cmp(&order(b)));
        }
        Ok(rows)
    }

    async fn search_ingested(&self, tenant_id: &TenantId, query: &IngestedQuery) -> StoreResult<Vec<IngestedEvent>> {
        let key = if let Some(e) = &query.entity {
            Some((e.kind.clone(), e.value.as_str()))
        } else {
            query.field.as_ref().map(|(name, value)| (index_key(name), value.as_str()))
        };
        if let Some((key, value)) = key {
            return search_indexed(self, tenant_id, query, &key, value).await;
        }
        // $1 tenant, $2 since, $3 until, $4 and $5 the place to start below, $6 limit, then
        // the source. Newest first by (received_at, seq), which both backends' indexes hold
        // in that order, so a page reads only its rows.
        let source = if query.source_id.is_some() { " AND e.source_id = $7" } else { "" };
        let sql = format!(
            "SELECT e.* FROM ingested_events e WHERE e.tenant_id = $1 AND e.received_at >= $2 \
             AND e.received_at < $3 AND (e.received_at, e.seq) < ($4, $5){source} \
             ORDER BY e.received_at DESC, e.seq DESC LIMIT $6"
        );
        let (before_at, before_seq) = query.before.unwrap_or((Timestamp(i64::MAX), i64::MAX));
        let mut q = q(&sql)
            .bind(tenant_id)
            .bind(query.since)
            .bind(query.until)
            .bind(before_at)
            .bind(before_seq)
            .bind(query.limit.max(0));
        if let Some(source) = &query.source_id {
            q = q.bind(source.as_str());
        }
        self.read_all(q).await
    }

    async fn sync_search_fields(&self, names: &[String], now: Timestamp) -> StoreResult<Vec<SearchField>> {
        let mut tx = self.begin().await?;
        let stored: Vec<SearchField> = tx.fetch_all(q("SELECT field AS name, since FROM search_fields")).await?;
        for gone in stored.iter().filter(|f| !names.contains(&f.name)) {
            tx.execute(q("DELETE FROM search_fields WHERE field = $1").bind(gone.name.as_str())).await?;
        }
        for name in names.iter().filter(|n| !stored.iter().any(|f| &f.name == *n)) {
            tx.execute(q("INSERT INTO search_fields (field, since) VALUES ($1, $2)").bind(name.as_str()).bind(now))
                .await?;
        }
        tx.commit().await?;
        self.search_fields().await
    }

    async fn search_fields(&self) -> StoreResult<Vec<SearchField>> {
        self.read_all(q("SELECT field AS name, since FROM search_fields ORDER BY field")).await
    }

    async fn tenant_ids(&self) -> StoreResult<Vec<TenantId>> {
        let rows: Vec<TenantIdRow> = self.read_all(q("SELECT id FROM tenants ORDER BY id")).await?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }

    async fn ingested_before(
        &self,
        tenant_id: &TenantId,
        before: Timestamp,
        limit: i64,
    ) -> StoreResult<Vec<IngestedEvent>> {
        self.read_all(
            q("SELECT * FROM ingested_events WHERE tenant_id = $1 AND received_at < $2 \
               ORDER BY received_at DESC, seq DESC LIMIT $3")
            .bind(tenant_id)
            .bind(before)
            .bind(limit.max(0)),
        )
        .await
    }

    async fn ingested_at(&self, tenant_id: &TenantId, at: Timestamp) -> StoreResult<Vec<IngestedEvent>> {
        self.read_all(
            q("SELECT * FROM ingested_events WHERE tenant_id = $1 AND received_at = $2 ORDER BY seq DESC")
                .bind(tenant_id)
                .bind(at),
        )
        .await
    }

    async fn merge_recent_index(&self, max_rows: i64) -> StoreResult<usize> {
        let mut tx = self.begin().await?;
        // Rows of the staging table of one row per entry, left from before the batches
        // were staged whole (migration 0034), go first, as they are older.
        let first: Option<MinIdRow> = tx.fetch_optional(q("SELECT MIN(id) AS id FROM event_index_recent")).await?;
        if let Some(first) = first.and_then(|r| r.id) {
            // Only rows this transaction deletes are moved (a batch still being written on
            // PostgreSQL is left for the next run).
            let moved: Vec<IndexRowOwned> = tx
                .fetch_all(
                    q("DELETE FROM event_index_recent WHERE id < $1 \
                       RETURNING tenant_id, field, value, seq, received_at")
                    .bind(first.saturating_add(max_rows.max(1))),
                )
                .await?;
            let rows: Vec<IndexRow<'_>> = moved
                .iter()
                .map(|r| (&r.tenant_id, r.field.as_str(), r.value.as_str(), r.seq, r.received_at))
                .collect();
            insert_postings(&mut tx, &rows).await?;
            tx.commit().await?;
            return Ok(moved.len());
        }
        let first: Option<MinIdRow> = tx.fetch_optional(q("SELECT MIN(id) AS id FROM event_index_staged")).await?;
        let Some(first) = first.and_then(|r| r.id) else {
            tx.rollback().await?;
            return Ok(0);
        };
        let moved: Vec<StagedBatchRow> = tx
            .fetch_all(
                q("DELETE FROM event_index_staged WHERE id < $1 \
                   RETURNING id, tenant_id, received_at, entries, alert_entities, rollups")
                .bind(first.saturating_add(max_rows.max(1))),
            )
            .await?;
        let mut rows: Vec<IndexRow<'_>> = Vec::new();
        let mut about: Vec<AboutRow<'_>> = Vec::new();
        let mut counts: std::collections::BTreeMap<RollupRow<'_>, i64> = Default::default();
        for batch in &moved {
            let corrupt = |column| staged_corrupt(batch.id, column);
            let tenant = &batch.tenant_id;
            let entries = crate::postings::decode_staged(&batch.entries).map_err(corrupt("entries"))?;
            rows.extend(entries.into_iter().map(|(key, value, seq)| (tenant, key, value, seq, batch.received_at)));
            if let Some(bytes) = &batch.alert_entities {
                let entries = crate::postings::decode_about(bytes).map_err(corrupt("alert_entities"))?;
                about.extend(entries.into_iter().map(|(kind, value, at, id)| (tenant, kind, value, at, id)));
            }
            if let Some(bytes) = &batch.rollups {
                for (hour, series, key, label, n) in
                    crate::postings::decode_rollups(bytes).map_err(corrupt("rollups"))?
                {
                    *counts.entry((tenant, hour, series, key, label)).or_default() += n;
                }
            }
        }
        insert_postings(&mut tx, &rows).await?;
        // In key order, so a run's rows land together in the B-trees.
        about.sort_unstable();
        insert_alert_entities(&mut tx, &about).await?;
        let counts: Vec<(RollupRow<'_>, i64)> = counts.into_iter().collect();
        add_rollups(&mut tx, &counts).await?;
        tx.commit().await?;
        Ok(moved.len())
    }

    async fn extend_search_index(
        &self,
        fields: &[String],
        from: Timestamp,
        to: Timestamp,
        values: &[FieldValue],
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        for name in fields {
            let moved = tx
                .execute(
                    q("UPDATE search_fields SET since = $1 WHERE field = $2 AND since = $3")
                        .bind(to)
                        .bind(name.as_str())
                        .bind(from),
                )
                .await?;
            if moved != 1 {
                tx.rollback().await?;
                return Ok(false);
            }
        }
        let keys: Vec<String> = values.iter().map(|v| index_key(&v.field)).collect();
        let rows: Vec<IndexRow<'_>> = values
            .iter()
            .zip(&keys)
            .map(|(v, key)| (&v.tenant_id, key.as_str(), v.value.as_str(), v.seq, v.received_at))
            .collect();
        insert_postings(&mut tx, &rows).await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// The events of `tenant_id` whose index `key` (an entity's kind, or [`index_key`]) has
/// `value`, as [`InsightStore::search_ingested`] answers: newest first, up to the limit.
///
/// Candidates (received at, number) come from the staged batches, the rows left from
/// before postings (`event_index_recent`, `event_index`) and then the postings, each read
/// newest first below where the last round stopped; staging is read before postings, so an
/// entry moved in between is found in the one or the other, and one found twice is counted
/// once. The events are then read by number, which also applies the source and drops any
/// event pruned since; a round that leaves the page short goes on from its last candidate.
async fn search_indexed(
    store: &This,
    tenant_id: &TenantId,
    query: &IngestedQuery,
    key: &str,
    value: &str,
) -> StoreResult<Vec<IngestedEvent>> {
    let limit = usize::try_from(query.limit).unwrap_or(0);
    let mut out: Vec<IngestedEvent> = Vec::with_capacity(limit.min(1024));
    let mut upper = query.before.unwrap_or((Timestamp(i64::MAX), i64::MAX));
    while out.len() < limit {
        // With a source, more than the page's remainder, as some will be another source's.
        let left = limit - out.len();
        let want = if query.source_id.is_some() { left.max(100) } else { left };
        let want_i64 = i64::try_from(want).unwrap_or(i64::MAX);
        // The staging table first, then the rest (see above).
        let mut found = staged_below(store, tenant_id, query, key, value, upper).await?;
        let arm = |table: &str| {
            format!(
                "SELECT * FROM (SELECT received_at, seq FROM {table} WHERE tenant_id = $1 AND field = $2 \
                 AND value = $3 AND received_at >= $4 AND received_at < $5 AND (received_at, seq) < ($6, $7) \
                 ORDER BY received_at DESC, seq DESC LIMIT $8) {table}_page"
            )
        };
        let sql = format!("{} UNION ALL {}", arm("event_index_recent"), arm("event_index"));
        let rows: Vec<PostingRow> = store
            .read_all(
                q(&sql)
                    .bind(tenant_id)
                    .bind(key)
                    .bind(value)
                    .bind(query.since)
                    .bind(query.until)
                    .bind(upper.0)
                    .bind(upper.1)
                    .bind(want_i64),
            )
            .await?;
        found.extend(rows.into_iter().map(|r| (r.received_at, r.seq)));
        found.extend(postings_below(store, tenant_id, query, key, value, upper, want).await?);
        found.sort_unstable_by(|a, b| b.cmp(a));
        found.dedup();
        let exhausted = found.len() < want;
        found.truncate(want);
        let Some(&last) = found.last() else { break };
        out.extend(events_by_number(store, tenant_id, query.source_id.as_deref(), &found).await?);
        if exhausted {
            break;
        }
        upper = last;
    }
    out.truncate(limit);
    Ok(out)
}

/// The events of the staged batches (not moved into postings yet) whose entry `key` has
/// `value`, received in `query`'s range and before `upper`. The staging table holds the
/// last seconds' batches, so it is read whole for the range.
async fn staged_below(
    store: &This,
    tenant_id: &TenantId,
    query: &IngestedQuery,
    key: &str,
    value: &str,
    upper: Posting,
) -> StoreResult<Vec<Posting>> {
    let batches: Vec<StagedRow> = store
        .read_all(
            q("SELECT id, received_at, entries FROM event_index_staged WHERE tenant_id = $1 \
               AND received_at >= $2 AND received_at < $3 AND received_at <= $4")
            .bind(tenant_id)
            .bind(query.since)
            .bind(query.until)
            .bind(upper.0),
        )
        .await?;
    let mut found = Vec::new();
    for batch in &batches {
        found.extend(
            unpack_staged(batch)?
                .into_iter()
                .filter(|&(k, v, seq)| k == key && v == value && (batch.received_at, seq) < upper)
                .map(|(_, _, seq)| (batch.received_at, seq)),
        );
    }
    Ok(found)
}

/// A staged batch's entries, or `Corrupt` naming its row.
fn unpack_staged(batch: &StagedRow) -> StoreResult<Vec<crate::postings::Staged<'_>>> {
    crate::postings::decode_staged(&batch.entries).map_err(staged_corrupt(batch.id, "entries"))
}

/// What a packed column of staged row `id` that could not be read is: `Corrupt`, naming
/// the row and the column.
fn staged_corrupt(id: i64, column: &str) -> impl Fn(crate::postings::PostingsError) -> crate::StoreError + '_ {
    move |e| crate::StoreError::Corrupt(format!("event_index_staged row {id} {column}: {e}"))
}

/// Up to `want` events of the postings of `key` = `value`, newest first, received in
/// `query`'s range and before `upper`. Rows are read newest first in pages until no row left
/// can hold an event newer than the `want`th found. A row holds one hour's events, so one
/// whose newest event is an hour or more after the last time wanted holds none of them.
async fn postings_below(
    store: &This,
    tenant_id: &TenantId,
    query: &IngestedQuery,
    key: &str,
    value: &str,
    upper: Posting,
    want: usize,
) -> StoreResult<Vec<Posting>> {
    const PAGE: i64 = 16;
    let last_wanted = Timestamp(upper.0.millis().min(query.until.millis().saturating_sub(1)));
    let newest_below = Timestamp(last_wanted.floor_to(HOUR_MS).millis().saturating_add(HOUR_MS));
    let mut cursor = (Timestamp(i64::MAX), i64::MAX);
    let mut found: Vec<Posting> = Vec::new();
    loop {
        let rows: Vec<PostingsRow> = store
            .read_all(
                q("SELECT id, newest_at, oldest_at, entries FROM event_postings WHERE tenant_id = $1 \
                   AND field = $2 AND value = $3 AND newest_at >= $4 AND newest_at < $5 \
                   AND (newest_at, id) < ($6, $7) ORDER BY newest_at DESC, id DESC LIMIT $8")
                .bind(tenant_id)
                .bind(key)
                .bind(value)
                .bind(query.since)
                .bind(newest_below)
                .bind(cursor.0)
                .bind(cursor.1)
                .bind(PAGE),
            )
            .await?;
        for row in &rows {
            if row.oldest_at > last_wanted {
                continue;
            }
            let entries = crate::postings::decode(&row.entries)
                .map_err(|e| crate::StoreError::Corrupt(format!("event_postings row {}: {e}", row.id)))?;
            found.extend(
                entries.into_iter().filter(|&(at, seq)| at >= query.since && at < query.until && (at, seq) < upper),
            );
        }
        if found.len() >= want {
            found.sort_unstable_by(|a, b| b.cmp(a));
            found.truncate(want);
        }
        let Some(last) = rows.last() else { break };
        let settled = found.len() >= want && found.last().is_some_and(|&(at, _)| last.newest_at < at);
        if settled || i64::try_from(rows.len()).unwrap_or(i64::MAX) < PAGE {
            break;
        }
        cursor = (last.newest_at, last.id);
    }
    Ok(found)
}

/// The stored events of `tenant_id` with these numbers (from `source`, if given), newest
/// first; a number whose event was pruned is left out.
async fn events_by_number(
    store: &This,
    tenant_id: &TenantId,
    source: Option<&str>,
    found: &[Posting],
) -> StoreResult<Vec<IngestedEvent>> {
    // By number alone, so the primary key is what is read (with the tenant in the query,
    // SQLite's planner took the tenant's index and read every event of the tenant); the
    // tenant and source are checked on the rows.
    let numbers: Vec<String> = (0..found.len()).map(|i| format!("${}", i + 1)).collect();
    let sql = format!("SELECT * FROM ingested_events WHERE seq IN ({})", numbers.join(", "));
    let mut query = q(&sql);
    for (_, seq) in found {
        query = query.bind(*seq);
    }
    let mut events: Vec<IngestedEvent> = store.read_all(query).await?;
    events.retain(|e| &e.tenant_id == tenant_id && source.is_none_or(|s| e.source_id == s));
    events.sort_unstable_by_key(|e| std::cmp::Reverse((e.received_at, e.seq)));
    Ok(events)
}

/// Writes index rows as postings: one `event_postings` row per tenant, key, value and hour
/// received, its events packed newest first (each once).
async fn insert_postings(tx: &mut Tx, rows: &[IndexRow<'_>]) -> StoreResult<()> {
    type Group<'a> = (&'a TenantId, &'a str, &'a str, i64);
    let mut groups: std::collections::BTreeMap<Group<'_>, Vec<Posting>> = Default::default();
    for (tenant, key, value, seq, at) in rows {
        let hour = at.floor_to(HOUR_MS).millis();
        groups.entry((*tenant, *key, *value, hour)).or_default().push((*at, *seq));
    }
    let packed: Vec<(Group<'_>, Timestamp, Timestamp, Vec<u8>)> = groups
        .into_iter()
        .filter_map(|(group, mut entries)| {
            entries.sort_unstable_by(|a, b| b.cmp(a));
            entries.dedup();
            let (newest, oldest) = (entries.first()?.0, entries.last()?.0);
            Some((group, newest, oldest, crate::postings::encode(&entries)))
        })
        .collect();
    for chunk in packed.chunks(ROWS_PER_INSERT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p = 6 * i;
                format!("(${}, ${}, ${}, ${}, ${}, ${})", p + 1, p + 2, p + 3, p + 4, p + 5, p + 6)
            })
            .collect();
        let sql = format!(
            "INSERT INTO event_postings (tenant_id, field, value, newest_at, oldest_at, entries) VALUES {}",
            values.join(", ")
        );
        let mut query = q(&sql);
        for ((tenant, key, value, _), newest, oldest, entries) in chunk {
            query = query.bind(*tenant).bind(*key).bind(*value).bind(*newest).bind(*oldest).bind(entries);
        }
        tx.execute(query).await?;
    }
    Ok(())
}

/// One entry of the search index, as postings are made from it: tenant, key (an entity's
/// kind, or [`index_key`]), value, the event's number and time received.
type IndexRow<'a> = (&'a TenantId, &'a str, &'a str, i64, Timestamp);

/// A search field's name as the search index keeps it (`field:<name>`), apart from the
/// entities (`user`, `ip`, `host`).
fn index_key(field: &str) -> String {
    format!("field:{field}")
}

/// Stages, in the batch's transaction, what the `InsightStore` reads, in one
/// `event_index_staged` row that the background move (`merge_recent_index`) writes out:
/// each event's entities and search fields' values (the search index), each alert's (those
/// of its event), and the batch's roll-up counts.
async fn insert_insight_rows(tx: &mut Tx, b: &IngestBatch, seqs: &[i64]) -> StoreResult<()> {
    // Each event's entities and search fields' values, by the event's number.
    let seq = |index: usize| {
        seqs.get(index).copied().ok_or_else(|| {
            crate::StoreError::Corrupt(format!("an index row refers to event {index} of {}", seqs.len()))
        })
    };
    let keys: Vec<String> = b.event_fields.iter().map(|(_, field, _)| index_key(field)).collect();
    let mut entries: Vec<crate::postings::Staged<'_>> =
        Vec::with_capacity(b.event_entities.len() + b.event_fields.len());
    for (index, e) in &b.event_entities {
        entries.push((e.kind.as_str(), e.value.as_str(), seq(*index)?));
    }
    for ((index, _, value), key) in b.event_fields.iter().zip(&keys) {
        entries.push((key.as_str(), value.as_str(), seq(*index)?));
    }
    // An alert is about its event's entities.
    let mut of_event: std::collections::HashMap<usize, Vec<&Entity>> = Default::default();
    for (index, e) in &b.event_entities {
        of_event.entry(*index).or_default().push(e);
    }
    let about: Vec<(&AlertRecord, &Entity)> = b
        .alerts
        .iter()
        .flat_map(|(index, a)| of_event.get(index).into_iter().flatten().map(move |e| (a, *e)))
        .collect();
    let packed_about: Vec<crate::postings::AlertAbout<'_>> =
        about.iter().map(|(a, e)| (e.kind.as_str(), e.value.as_str(), a.created_at, a.id.as_str())).collect();
    let counts = detection_counts(b, &about);
    let packed_counts: Vec<crate::postings::RollupCount<'_>> = counts
        .iter()
        .map(|((hour, series, key, label), n)| (*hour, *series, key.as_str(), label.as_str(), *n))
        .collect();
    if entries.is_empty() && packed_about.is_empty() && packed_counts.is_empty() {
        return Ok(());
    }
    // One staged row for the batch, however many entries.
    tx.execute(
        q("INSERT INTO event_index_staged (tenant_id, received_at, entries, alert_entities, rollups) \
           VALUES ($1, $2, $3, $4, $5)")
        .bind(&b.tenant_id)
        .bind(b.received_at)
        .bind(&crate::postings::encode_staged(&entries))
        .bind(&crate::postings::encode_about(&packed_about))
        .bind(&crate::postings::encode_rollups(&packed_counts)),
    )
    .await?;
    Ok(())
}

/// An `alert_entities` row: tenant, kind, value, time raised and alert id.
type AboutRow<'a> = (&'a TenantId, &'a str, &'a str, Timestamp, &'a str);

/// Writes `alert_entities` rows.
async fn insert_alert_entities(tx: &mut Tx, rows: &[AboutRow<'_>]) -> StoreResult<()> {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, ${}, ${}, ${}, ${})", 5 * i + 1, 5 * i + 2, 5 * i + 3, 5 * i + 4, 5 * i + 5))
            .collect();
        let sql = format!(
            "INSERT INTO alert_entities (tenant_id, kind, value, created_at, alert_id) VALUES {}",
            values.join(", ")
        );
        let mut query = q(&sql);
        for (tenant, kind, value, at, id) in chunk {
            query = query.bind(*tenant).bind(*kind).bind(*value).bind(*at).bind(*id);
        }
        tx.execute(query).await?;
    }
    Ok(())
}

/// A `detection_rollups` row's key: tenant, hour, series, key, label.
type RollupRow<'a> = (&'a TenantId, i64, &'a str, &'a str, &'a str);

/// Adds counts to `detection_rollups`, each key once (so one statement never touches a row
/// twice).
async fn add_rollups(tx: &mut Tx, counts: &[(RollupRow<'_>, i64)]) -> StoreResult<()> {
    for chunk in counts.chunks(ROWS_PER_INSERT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p = 6 * i;
                format!("(${}, ${}, ${}, ${}, ${}, ${})", p + 1, p + 2, p + 3, p + 4, p + 5, p + 6)
            })
            .collect();
        let sql = format!(
            "INSERT INTO detection_rollups (tenant_id, hour, series, key, label, n) VALUES {} \
             ON CONFLICT (tenant_id, hour, series, key, label) DO UPDATE SET n = detection_rollups.n + excluded.n",
            values.join(", ")
        );
        let mut query = q(&sql);
        for ((tenant, hour, series, key, label), n) in chunk {
            query = query.bind(*tenant).bind(*hour).bind(*series).bind(*key).bind(*label).bind(*n);
        }
        tx.execute(query).await?;
    }
    Ok(())
}

/// The ids of the alerts about `entity`, raised since `since`, that the staged batches
/// (not moved yet) name.
async fn staged_alerts_about(
    store: &This,
    tenant_id: &TenantId,
    entity: &Entity,
    since: Timestamp,
) -> StoreResult<Vec<String>> {
    let batches: Vec<StagedAboutRow> = store
        .read_all(
            q("SELECT id, alert_entities FROM event_index_staged WHERE tenant_id = $1 AND alert_entities IS NOT NULL")
                .bind(tenant_id),
        )
        .await?;
    let mut ids = Vec::new();
    for batch in &batches {
        let about =
            crate::postings::decode_about(&batch.alert_entities).map_err(staged_corrupt(batch.id, "alert_entities"))?;
        ids.extend(
            about
                .into_iter()
                .filter(|&(kind, value, at, _)| kind == entity.kind && value == entity.value && at >= since)
                .map(|(_, _, _, id)| id.to_owned()),
        );
    }
    Ok(ids)
}

/// The alerts of `tenant_id` with these ids (in `state`, if given).
async fn alerts_by_id(
    store: &This,
    tenant_id: &TenantId,
    state: Option<AlertState>,
    ids: &[String],
) -> StoreResult<Vec<AlertRecord>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(ROWS_PER_INSERT) {
        let first = if state.is_some() { 3 } else { 2 };
        let numbers: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + first)).collect();
        let sql = format!(
            "SELECT a.* FROM alerts a LEFT JOIN alert_triage t ON t.alert_id = a.id \
             WHERE a.tenant_id = $1{} AND a.id IN ({})",
            if state.is_some() { " AND COALESCE(t.state, 'firing') = $2" } else { "" },
            numbers.join(", ")
        );
        let mut query = q(&sql).bind(tenant_id);
        if let Some(state) = state {
            query = query.bind(state);
        }
        for id in chunk {
            query = query.bind(id.as_str());
        }
        out.extend(store.read_all::<AlertRecord>(query).await?);
    }
    Ok(out)
}

/// A detection roll-up row's key as it sorts: hour, series, key, label.
fn order(r: &DetectionRollup) -> (i64, &str, &str, &str) {
    (r.hour, r.series.as_str(), r.key.as_str(), r.label.as_str())
}

/// A detection roll-up row's key: hour, series, key, label.
type RollupKey = (i64, &'static str, String, String);

/// A batch's detection roll-up counts, summed per row so one statement never touches a row
/// twice: its events and dead letters (in the hour it was received), its alerts by title
/// and level and their entities (in the hour each was raised).
fn detection_counts(b: &IngestBatch, about: &[(&AlertRecord, &Entity)]) -> Vec<(RollupKey, i64)> {
    let hour = |t: Timestamp| t.floor_to(HOUR_MS).millis();
    let mut counts: std::collections::BTreeMap<RollupKey, i64> = Default::default();
    let received = hour(b.received_at);
    if !b.events.is_empty() {
        *counts.entry((received, "events", b.source_id.clone(), String::new())).or_default() +=
            i64::try_from(b.events.len()).unwrap_or(i64::MAX);
    }
    for d in &b.dead_letters {
        *counts.entry((hour(d.received_at), "dead_letters", d.source_id.clone(), String::new())).or_default() += 1;
    }
    for (_, a) in &b.alerts {
        *counts.entry((hour(a.created_at), "alerts", a.title.clone(), a.level.clone())).or_default() += 1;
    }
    for (a, e) in about {
        *counts.entry((hour(a.created_at), "entities", e.kind.clone(), e.value.clone())).or_default() += 1;
    }
    counts.into_iter().collect()
}
