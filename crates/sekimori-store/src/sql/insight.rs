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
        self.read_all(query).await
    }

    async fn detection_rollups(
        &self,
        tenant_id: &TenantId,
        since: Timestamp,
        until: Timestamp,
    ) -> StoreResult<Vec<DetectionRollup>> {
        let from = since.floor_to(HOUR_MS);
        self.read_all(
            q("SELECT hour, series, key, label, n FROM detection_rollups \
               WHERE tenant_id = $1 AND hour >= $2 AND hour < $3 ORDER BY hour, series, key, label")
            .bind(tenant_id)
            .bind(from)
            .bind(until),
        )
        .await
    }

    async fn search_ingested(&self, tenant_id: &TenantId, query: &IngestedQuery) -> StoreResult<Vec<IngestedEvent>> {
        // $1 tenant, $2 since, $3 until, $4 and $5 the place to start below, $6 limit, then the
        // source and the entity. Newest first by (received_at, seq), which both backends'
        // indexes hold in that order, so a page reads only its rows.
        let mut next = 7;
        let mut source = String::new();
        if query.source_id.is_some() {
            source = format!(" AND e.source_id = ${next}");
            next += 1;
        }
        let sql = if query.entity.is_some() || query.field.is_some() {
            // The ordered index and its staging table (rows not moved yet), each read in
            // order up to the page, then merged.
            let arm = |table: &str| {
                format!(
                    "SELECT * FROM (SELECT e.* FROM {table} i JOIN ingested_events e ON e.seq = i.seq \
                     WHERE i.tenant_id = $1 AND i.field = ${} AND i.value = ${} \
                     AND i.received_at >= $2 AND i.received_at < $3 AND (i.received_at, i.seq) < ($4, $5) \
                     AND e.tenant_id = $1{source} ORDER BY i.received_at DESC, i.seq DESC LIMIT $6) {table}_page",
                    next,
                    next + 1
                )
            };
            format!(
                "SELECT * FROM ({} UNION ALL {}) u ORDER BY received_at DESC, seq DESC LIMIT $6",
                arm("event_index"),
                arm("event_index_recent")
            )
        } else {
            format!(
                "SELECT e.* FROM ingested_events e WHERE e.tenant_id = $1 AND e.received_at >= $2 \
                 AND e.received_at < $3 AND (e.received_at, e.seq) < ($4, $5){source} \
                 ORDER BY e.received_at DESC, e.seq DESC LIMIT $6"
            )
        };
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
        if let Some(e) = &query.entity {
            q = q.bind(e.kind.as_str()).bind(e.value.as_str());
        } else if let Some((name, value)) = &query.field {
            q = q.bind(index_key(name)).bind(value.as_str());
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
        let first: Option<MinIdRow> = tx.fetch_optional(q("SELECT MIN(id) AS id FROM event_index_recent")).await?;
        let Some(first) = first.and_then(|r| r.id) else {
            tx.rollback().await?;
            return Ok(0);
        };
        // Only rows this transaction deletes are moved (a batch still being written on
        // PostgreSQL is left for the next run).
        let mut moved: Vec<IndexRowOwned> = tx
            .fetch_all(
                q("DELETE FROM event_index_recent WHERE id < $1 RETURNING tenant_id, field, value, seq, received_at")
                    .bind(first.saturating_add(max_rows.max(1))),
            )
            .await?;
        moved.sort_by(|a, b| {
            (a.tenant_id.as_str(), &a.field, &a.value, a.received_at, a.seq).cmp(&(
                b.tenant_id.as_str(),
                &b.field,
                &b.value,
                b.received_at,
                b.seq,
            ))
        });
        let rows: Vec<IndexRow<'_>> =
            moved.iter().map(|r| (&r.tenant_id, r.field.clone(), r.value.as_str(), r.seq, r.received_at)).collect();
        insert_index_rows(&mut tx, "event_index", &rows).await?;
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
        let rows: Vec<IndexRow<'_>> = values
            .iter()
            .map(|v| (&v.tenant_id, index_key(&v.field), v.value.as_str(), v.seq, v.received_at))
            .collect();
        insert_index_rows(&mut tx, "event_index", &rows).await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// A row of `event_index`: tenant, key (an entity's kind, or [`index_key`]), value, the
/// event's number and time received.
type IndexRow<'a> = (&'a TenantId, String, &'a str, i64, Timestamp);

/// Inserts search index rows into `table`: `event_index` (one already there is left as it
/// is) or `event_index_recent` (appended).
async fn insert_index_rows(tx: &mut Tx, table: &str, rows: &[IndexRow<'_>]) -> StoreResult<()> {
    let conflict = if table == "event_index" { " ON CONFLICT DO NOTHING" } else { "" };
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, ${}, ${}, ${}, ${})", 5 * i + 1, 5 * i + 2, 5 * i + 3, 5 * i + 4, 5 * i + 5))
            .collect();
        let sql = format!(
            "INSERT INTO {table} (tenant_id, field, value, seq, received_at) VALUES {}{conflict}",
            values.join(", ")
        );
        let mut query = q(&sql);
        for (tenant, key, value, seq, at) in chunk {
            query = query.bind(*tenant).bind(key.as_str()).bind(*value).bind(*seq).bind(*at);
        }
        tx.execute(query).await?;
    }
    Ok(())
}

/// A search field's name as `event_index` keeps it (`field:<name>`), apart from the
/// entities (`user`, `ip`, `host`).
fn index_key(field: &str) -> String {
    format!("field:{field}")
}

/// Writes, in the batch's transaction, what the `InsightStore` reads: each event's
/// entities and search fields' values (the search index), each alert's (those of its
/// event), and the batch's roll-up counts.
async fn insert_insight_rows(tx: &mut Tx, b: &IngestBatch, seqs: &[i64]) -> StoreResult<()> {
    // Each event's entities and search fields' values, by the event's number.
    let seq = |index: usize| {
        seqs.get(index).copied().ok_or_else(|| {
            crate::StoreError::Corrupt(format!("an index row refers to event {index} of {}", seqs.len()))
        })
    };
    let mut rows: Vec<IndexRow<'_>> = Vec::with_capacity(b.event_entities.len() + b.event_fields.len());
    for (index, e) in &b.event_entities {
        rows.push((&b.tenant_id, e.kind.clone(), e.value.as_str(), seq(*index)?, b.received_at));
    }
    for (index, field, value) in &b.event_fields {
        rows.push((&b.tenant_id, index_key(field), value.as_str(), seq(*index)?, b.received_at));
    }
    insert_index_rows(tx, "event_index_recent", &rows).await?;
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
    for chunk in about.chunks(ROWS_PER_INSERT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, ${}, ${}, ${}, ${})", 5 * i + 1, 5 * i + 2, 5 * i + 3, 5 * i + 4, 5 * i + 5))
            .collect();
        let sql = format!(
            "INSERT INTO alert_entities (tenant_id, kind, value, created_at, alert_id) VALUES {}",
            values.join(", ")
        );
        let mut query = q(&sql);
        for (a, e) in chunk {
            query =
                query.bind(&a.tenant_id).bind(e.kind.as_str()).bind(e.value.as_str()).bind(a.created_at).bind(&a.id);
        }
        tx.execute(query).await?;
    }
    let counts = detection_counts(b, &about);
    for chunk in counts.chunks(ROWS_PER_INSERT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("($1, ${}, ${}, ${}, ${}, ${})", 5 * i + 2, 5 * i + 3, 5 * i + 4, 5 * i + 5, 5 * i + 6))
            .collect();
        let sql = format!(
            "INSERT INTO detection_rollups (tenant_id, hour, series, key, label, n) VALUES {} \
             ON CONFLICT (tenant_id, hour, series, key, label) DO UPDATE SET n = detection_rollups.n + excluded.n",
            values.join(", ")
        );
        let mut query = q(&sql).bind(&b.tenant_id);
        for ((hour, series, key, label), n) in chunk {
            query = query.bind(*hour).bind(*series).bind(key.as_str()).bind(label.as_str()).bind(*n);
        }
        tx.execute(query).await?;
    }
    Ok(())
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
