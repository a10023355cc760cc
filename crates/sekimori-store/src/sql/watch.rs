// Ingest sources, ingested events, dead letters and alerts (see `common.rs`).

/// Entities whose profiles one query reads (well under SQLite's and PostgreSQL's limits on
/// parameters).
const PROFILES_PER_QUERY: usize = 500;

/// Ingested events one INSERT writes.
const EVENTS_PER_INSERT: usize = 100;

/// Alerts or profiles one INSERT writes (12 parameters an alert).
const ROWS_PER_INSERT: usize = 100;

#[async_trait]
impl WatchStore for This {
    async fn insert_ingest_source(&self, s: &IngestSource, event: &NewEvent) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let taken: Option<IngestSource> = tx
            .fetch_optional(
                q("SELECT * FROM ingest_sources WHERE tenant_id = $1 AND name = $2 AND revoked_at IS NULL")
                    .bind(&s.tenant_id)
                    .bind(&s.name),
            )
            .await?;
        if taken.is_some() {
            return Ok(false);
        }
        tx.execute(
            q("INSERT INTO ingest_sources (id, tenant_id, name, secret_hash, created_at, labels) \
               VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&s.id)
            .bind(&s.tenant_id)
            .bind(&s.name)
            .bind(&s.secret_hash)
            .bind(s.created_at)
            .bind(&s.labels),
        )
        .await?;
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn set_ingest_source_labels(
        &self,
        tenant_id: &TenantId,
        id: &str,
        labels: &std::collections::BTreeMap<String, String>,
        event: &NewEvent,
    ) -> StoreResult<bool> {
        self.audited(
            q("UPDATE ingest_sources SET labels = $1 WHERE id = $2 AND tenant_id = $3 AND revoked_at IS NULL")
                .bind(labels)
                .bind(id)
                .bind(tenant_id),
            event,
            Audit::IfChanged,
        )
        .await
    }

    async fn ingest_source(&self, id: &str) -> StoreResult<Option<IngestSource>> {
        self.read_optional(q("SELECT * FROM ingest_sources WHERE id = $1").bind(id)).await
    }

    async fn list_ingest_sources(&self, tenant_id: &TenantId) -> StoreResult<Vec<IngestSource>> {
        self.read_all(q("SELECT * FROM ingest_sources WHERE tenant_id = $1 ORDER BY name, created_at").bind(tenant_id))
            .await
    }

    async fn revoke_ingest_source(
        &self,
        tenant_id: &TenantId,
        id: &str,
        now: Timestamp,
        event: &NewEvent,
    ) -> StoreResult<bool> {
        self.audited(
            q("UPDATE ingest_sources SET revoked_at = $1 WHERE id = $2 AND tenant_id = $3 AND revoked_at IS NULL")
                .bind(now)
                .bind(id)
                .bind(tenant_id),
            event,
            Audit::IfChanged,
        )
        .await
    }

    async fn store_ingest(&self, b: &IngestBatch) -> StoreResult<Option<Vec<i64>>> {
        let mut tx = self.begin().await?;
        if let Some((name, from, to)) = &b.cursor {
            tx.execute(
                q("INSERT INTO watch_cursors (name, seq) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING").bind(name),
            )
            .await?;
            let moved = tx
                .execute(
                    q("UPDATE watch_cursors SET seq = $3 WHERE name = $1 AND seq = $2")
                        .bind(name)
                        .bind(*from)
                        .bind(*to),
                )
                .await?;
            if moved != 1 {
                tx.rollback().await?;
                return Ok(None);
            }
        }
        // Many rows per statement. The rows of one INSERT take ascending sequence numbers in
        // the order of its VALUES (one writer at a time in SQLite; in PostgreSQL `nextval`
        // runs row by row), so the numbers, sorted, are the events' in order.
        let mut seqs = Vec::with_capacity(b.events.len());
        for chunk in b.events.chunks(EVENTS_PER_INSERT) {
            let values: Vec<String> = (0..chunk.len()).map(|i| format!("($1, $2, $3, ${})", i + 4)).collect();
            let sql = format!(
                "INSERT INTO ingested_events (tenant_id, source_id, received_at, doc) VALUES {} RETURNING seq",
                values.join(", ")
            );
            let mut query = q(&sql).bind(&b.tenant_id).bind(&b.source_id).bind(b.received_at);
            for doc in chunk {
                query = query.bind(doc.as_str());
            }
            let mut rows: Vec<i64> = tx.fetch_all::<SeqRow>(query).await?.into_iter().map(|r| r.seq).collect();
            if rows.len() != chunk.len() {
                return Err(crate::StoreError::Corrupt(format!("{} rows inserted of {}", rows.len(), chunk.len())));
            }
            rows.sort_unstable();
            seqs.extend(rows);
        }
        for d in &b.dead_letters {
            tx.execute(
                q("INSERT INTO dead_letters (id, tenant_id, source_id, received_at, reason, sample) \
                   VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(&d.id)
                .bind(&d.tenant_id)
                .bind(&d.source_id)
                .bind(d.received_at)
                .bind(&d.reason)
                .bind(&d.sample),
            )
            .await?;
        }
        for chunk in b.alerts.chunks(ROWS_PER_INSERT) {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let p = i * 12;
                    let cols: Vec<String> = (1..=12).map(|c| format!("${}", p + c)).collect();
                    format!("({})", cols.join(", "))
                })
                .collect();
            let sql = format!(
                "INSERT INTO alerts (id, tenant_id, rule_id, title, level, tags, source_id, event_seq, matched, \
                 entities, excerpt, created_at) VALUES {}",
                values.join(", ")
            );
            let mut query = q(&sql);
            for (index, a) in chunk {
                let seq = *seqs.get(*index).ok_or_else(|| {
                    crate::StoreError::Corrupt(format!("alert refers to event {index} of {}", seqs.len()))
                })?;
                query = query
                    .bind(&a.id)
                    .bind(&a.tenant_id)
                    .bind(&a.rule_id)
                    .bind(&a.title)
                    .bind(&a.level)
                    .bind(&a.tags)
                    .bind(&a.source_id)
                    .bind(seq)
                    .bind(&a.matched)
                    .bind(&a.entities)
                    .bind(&a.excerpt)
                    .bind(a.created_at);
            }
            tx.execute(query).await?;
        }
        insert_insight_rows(&mut tx, b, &seqs).await?;
        // Entities are unique in a batch, so one statement never updates a row twice.
        for chunk in b.profiles.chunks(ROWS_PER_INSERT) {
            let values: Vec<String> =
                (0..chunk.len()).map(|i| format!("($1, ${}, ${}, $2)", 2 * i + 3, 2 * i + 4)).collect();
            let sql = format!(
                "INSERT INTO behaviour_profiles (tenant_id, entity, doc, updated_at) VALUES {} \
                 ON CONFLICT (tenant_id, entity) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at",
                values.join(", ")
            );
            let mut query = q(&sql).bind(&b.tenant_id).bind(b.received_at);
            for (entity, doc) in chunk {
                query = query.bind(entity.as_str()).bind(doc.as_str());
            }
            tx.execute(query).await?;
        }
        tx.commit().await?;
        Ok(Some(seqs))
    }

    async fn watch_cursor(&self, name: &str) -> StoreResult<i64> {
        let row: Option<SeqRow> =
            self.read_optional(q("SELECT seq FROM watch_cursors WHERE name = $1").bind(name)).await?;
        Ok(row.map_or(0, |r| r.seq))
    }

    async fn ingested_events(
        &self,
        tenant_id: &TenantId,
        after_seq: i64,
        limit: i64,
    ) -> StoreResult<Vec<IngestedEvent>> {
        self.read_all(
            q("SELECT * FROM ingested_events WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3")
                .bind(tenant_id)
                .bind(after_seq)
                .bind(limit.max(0)),
        )
        .await
    }

    async fn ingested_event(&self, tenant_id: &TenantId, seq: i64) -> StoreResult<Option<IngestedEvent>> {
        self.read_optional(
            q("SELECT * FROM ingested_events WHERE tenant_id = $1 AND seq = $2").bind(tenant_id).bind(seq),
        )
        .await
    }

    async fn behaviour_profiles(
        &self,
        tenant_id: &TenantId,
        entities: &[String],
    ) -> StoreResult<Vec<(String, String)>> {
        let mut out = Vec::with_capacity(entities.len());
        for chunk in entities.chunks(PROFILES_PER_QUERY) {
            let placeholders: Vec<String> = (2..chunk.len() + 2).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT entity, doc FROM behaviour_profiles WHERE tenant_id = $1 AND entity IN ({})",
                placeholders.join(", ")
            );
            let mut query = q(&sql).bind(tenant_id);
            for e in chunk {
                query = query.bind(e.as_str());
            }
            let rows: Vec<EntityProfileRow> = self.read_all(query).await?;
            out.extend(rows.into_iter().map(|r| (r.entity, r.doc)));
        }
        Ok(out)
    }

    async fn insert_silence(&self, s: &SilenceRecord, event: &NewEvent) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        tx.execute(
            q("INSERT INTO silences (id, tenant_id, matchers, starts_at, ends_at, created_by, comment, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(&s.id)
            .bind(&s.tenant_id)
            .bind(&s.matchers)
            .bind(s.starts_at)
            .bind(s.ends_at)
            .bind(&s.created_by)
            .bind(&s.comment)
            .bind(s.created_at),
        )
        .await?;
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn silences(&self, tenant_id: &TenantId, after: Timestamp) -> StoreResult<Vec<SilenceRecord>> {
        self.read_all(
            q("SELECT * FROM silences WHERE tenant_id = $1 AND ends_at > $2 ORDER BY starts_at, id")
                .bind(tenant_id)
                .bind(after),
        )
        .await
    }

    async fn ended_silences(
        &self,
        tenant_id: &TenantId,
        after: Timestamp,
        until: Timestamp,
    ) -> StoreResult<Vec<SilenceRecord>> {
        self.read_all(
            q("SELECT * FROM silences WHERE tenant_id = $1 AND ends_at > $2 AND ends_at <= $3 ORDER BY ends_at, id")
                .bind(tenant_id)
                .bind(after)
                .bind(until),
        )
        .await
    }

    async fn expire_silence(
        &self,
        tenant_id: &TenantId,
        id: &str,
        at: Timestamp,
        event: &NewEvent,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let n = tx
            .execute(
                q("UPDATE silences SET ends_at = $1 WHERE tenant_id = $2 AND id = $3 AND ends_at > $1")
                    .bind(at)
                    .bind(tenant_id)
                    .bind(id),
            )
            .await?;
        if n != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn alert(&self, tenant_id: &TenantId, id: &str) -> StoreResult<Option<AlertRecord>> {
        self.read_optional(q("SELECT * FROM alerts WHERE tenant_id = $1 AND id = $2").bind(tenant_id).bind(id)).await
    }

    async fn alerts_in_state(
        &self,
        tenant_id: &TenantId,
        state: AlertState,
        since: Timestamp,
        limit: i64,
    ) -> StoreResult<Vec<AlertRecord>> {
        self.read_all(
            q("SELECT a.* FROM alerts a LEFT JOIN alert_triage t ON t.alert_id = a.id \
               WHERE a.tenant_id = $1 AND a.created_at >= $2 AND COALESCE(t.state, 'firing') = $3 \
               ORDER BY a.created_at DESC, a.id DESC LIMIT $4")
            .bind(tenant_id)
            .bind(since)
            .bind(state)
            .bind(limit.max(0)),
        )
        .await
    }

    async fn alert_triage(&self, tenant_id: &TenantId, ids: &[String]) -> StoreResult<Vec<AlertTriage>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(ROWS_PER_INSERT) {
            let list: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!("SELECT * FROM alert_triage WHERE tenant_id = $1 AND alert_id IN ({})", list.join(", "));
            let mut query = q(&sql).bind(tenant_id);
            for id in chunk {
                query = query.bind(id.as_str());
            }
            out.extend(self.read_all::<AlertTriage>(query).await?);
        }
        Ok(out)
    }

    async fn set_alert_triage(
        &self,
        t: &AlertTriage,
        from: &[AlertState],
        event: &NewEvent,
    ) -> StoreResult<TriageChange> {
        let mut tx = self.begin().await?;
        let alert: Option<AlertRecord> = tx
            .fetch_optional(
                q("SELECT * FROM alerts WHERE tenant_id = $1 AND id = $2").bind(&t.tenant_id).bind(&t.alert_id),
            )
            .await?;
        if alert.is_none() {
            tx.rollback().await?;
            return Ok(TriageChange::NoAlert);
        }
        let current: Option<AlertTriage> =
            tx.fetch_optional(q("SELECT * FROM alert_triage WHERE alert_id = $1").bind(&t.alert_id)).await?;
        let state = current.as_ref().map_or(AlertState::Firing, |c| c.state);
        if !from.contains(&state) {
            tx.rollback().await?;
            return Ok(TriageChange::Refused(state));
        }
        // The guard on the state read makes a concurrent change lose (0 rows), not overwrite.
        let written = match &current {
            None => {
                tx.execute(
                    q("INSERT INTO alert_triage (alert_id, tenant_id, state, assignee, changed_at, changed_by) \
                       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (alert_id) DO NOTHING")
                    .bind(&t.alert_id)
                    .bind(&t.tenant_id)
                    .bind(t.state)
                    .bind(&t.assignee)
                    .bind(t.changed_at)
                    .bind(&t.changed_by),
                )
                .await?
            }
            Some(c) => {
                tx.execute(
                    q("UPDATE alert_triage SET state = $1, assignee = $2, changed_at = $3, changed_by = $4 \
                       WHERE alert_id = $5 AND state = $6 AND changed_at = $7")
                    .bind(t.state)
                    .bind(&t.assignee)
                    .bind(t.changed_at)
                    .bind(&t.changed_by)
                    .bind(&t.alert_id)
                    .bind(c.state)
                    .bind(c.changed_at),
                )
                .await?
            }
        };
        if written != 1 {
            tx.rollback().await?;
            let now: Option<AlertTriage> =
                self.read_optional(q("SELECT * FROM alert_triage WHERE alert_id = $1").bind(&t.alert_id)).await?;
            return Ok(TriageChange::Refused(now.map_or(AlertState::Firing, |n| n.state)));
        }
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(TriageChange::Changed(state))
    }

    async fn resolve_alerts(
        &self,
        tenant_id: &TenantId,
        ids: &[String],
        at: Timestamp,
        by: &str,
        event: &NewEvent,
    ) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        let mut changed = 0;
        for id in ids {
            changed += tx
                .execute(
                    q("INSERT INTO alert_triage (alert_id, tenant_id, state, assignee, changed_at, changed_by) \
                       SELECT id, tenant_id, 'resolved', NULL, $1, $2 FROM alerts WHERE tenant_id = $3 AND id = $4 \
                       ON CONFLICT (alert_id) DO UPDATE SET state = 'resolved', changed_at = excluded.changed_at, \
                       changed_by = excluded.changed_by WHERE alert_triage.state <> 'resolved'")
                    .bind(at)
                    .bind(by)
                    .bind(tenant_id)
                    .bind(id.as_str()),
                )
                .await?;
        }
        if changed == 0 {
            tx.rollback().await?;
            return Ok(0);
        }
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(changed)
    }

    async fn add_alert_comment(&self, c: &AlertComment, event: &NewEvent) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let n = tx
            .execute(
                q("INSERT INTO alert_comments (id, tenant_id, alert_id, author, body, created_at) \
                   SELECT $1, tenant_id, id, $2, $3, $4 FROM alerts WHERE tenant_id = $5 AND id = $6")
                .bind(&c.id)
                .bind(&c.author)
                .bind(&c.body)
                .bind(c.created_at)
                .bind(&c.tenant_id)
                .bind(&c.alert_id),
            )
            .await?;
        if n != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn alert_comments(&self, tenant_id: &TenantId, alert_id: &str) -> StoreResult<Vec<AlertComment>> {
        self.read_all(
            q("SELECT * FROM alert_comments WHERE tenant_id = $1 AND alert_id = $2 ORDER BY created_at, id")
                .bind(tenant_id)
                .bind(alert_id),
        )
        .await
    }

    async fn pending_alerts_after(&self, created_at: Timestamp, id: &str, limit: i64) -> StoreResult<Vec<AlertRecord>> {
        self.read_all(
            q("SELECT * FROM alerts WHERE dispatched_at IS NULL AND (created_at > $1 OR (created_at = $1 AND id > $2)) \
               ORDER BY created_at, id LIMIT $3")
            .bind(created_at)
            .bind(id)
            .bind(limit.max(0)),
        )
        .await
    }

    async fn pending_alerts(&self, limit: i64) -> StoreResult<Vec<AlertRecord>> {
        self.read_all(
            q("SELECT * FROM alerts WHERE dispatched_at IS NULL ORDER BY created_at, id LIMIT $1").bind(limit.max(0)),
        )
        .await
    }

    async fn mark_alerts_dispatched(&self, ids: &[String], at: Timestamp) -> StoreResult<u64> {
        // One transaction (one commit) for the whole list, in statements of at most
        // ROWS_PER_INSERT ids.
        let mut tx = self.begin().await?;
        let mut marked = 0;
        for chunk in ids.chunks(ROWS_PER_INSERT) {
            let list: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            // Found by key: written `dispatched_at IS NULL`, the test matches the partial
            // index of pending alerts, which PostgreSQL then scans whole for each statement.
            let sql = format!(
                "UPDATE alerts SET dispatched_at = $1 WHERE id IN ({}) AND COALESCE(dispatched_at, -1) < 0",
                list.join(", ")
            );
            let mut query = q(&sql).bind(at);
            for id in chunk {
                query = query.bind(id.as_str());
            }
            marked += tx.execute(query).await?;
        }
        tx.commit().await?;
        Ok(marked)
    }

    async fn claim_notification(&self, c: &NotificationClaim) -> StoreResult<ClaimOutcome> {
        // One statement decides: a new group, a live claim's absence, and either changed
        // content, a repeat that is due, or a previous failure (or a crashed sender).
        let n = self
            .write(
                q("INSERT INTO notification_log \
                   (tenant_id, channel, group_key, content_hash, notified_at, state, owner, lease_until) \
                   VALUES ($1, $2, $3, $4, $5, 'sending', $6, $7) \
                   ON CONFLICT (tenant_id, channel, group_key) DO UPDATE SET \
                   content_hash = excluded.content_hash, notified_at = excluded.notified_at, state = 'sending', \
                   owner = excluded.owner, lease_until = excluded.lease_until \
                   WHERE (notification_log.state <> 'sending' OR notification_log.lease_until <= $5) \
                   AND (notification_log.state <> 'delivered' OR notification_log.content_hash <> $4 \
                   OR notification_log.notified_at + $8 <= $5)")
                .bind(&c.tenant_id)
                .bind(&c.channel)
                .bind(&c.group_key)
                .bind(&c.content_hash)
                .bind(c.at)
                .bind(&c.owner)
                .bind(c.lease_until)
                .bind(c.repeat_ms),
            )
            .await?;
        if n == 1 {
            return Ok(ClaimOutcome::Claimed);
        }
        let row: Option<StateRow> = self
            .read_optional(
                q("SELECT state FROM notification_log WHERE tenant_id = $1 AND channel = $2 AND group_key = $3")
                    .bind(&c.tenant_id)
                    .bind(&c.channel)
                    .bind(&c.group_key),
            )
            .await?;
        match row.map(|r| r.state) {
            Some(s) if s == "sending" => Ok(ClaimOutcome::Busy),
            Some(s) if s == "delivered" => Ok(ClaimOutcome::AlreadyNotified),
            Some(other) => Err(crate::StoreError::Corrupt(format!(
                "notification_log ({}, {}): state {other:?}",
                c.channel, c.group_key
            ))),
            None => Err(crate::StoreError::Corrupt(format!(
                "notification_log ({}, {}): a refused claim left no entry",
                c.channel, c.group_key
            ))),
        }
    }

    async fn finish_notification(
        &self,
        c: &NotificationClaim,
        delivered: bool,
        at: Timestamp,
        attempts: &[NotificationAttempt],
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        tx.execute(
            q("UPDATE notification_log SET state = $1, notified_at = $2 \
               WHERE tenant_id = $3 AND channel = $4 AND group_key = $5 AND owner = $6 AND state = 'sending'")
            .bind(if delivered { "delivered" } else { "failed" })
            .bind(at)
            .bind(&c.tenant_id)
            .bind(&c.channel)
            .bind(&c.group_key)
            .bind(&c.owner),
        )
        .await?;
        for a in attempts {
            tx.execute(
                q("INSERT INTO notification_attempts \
                   (id, tenant_id, channel, group_key, content_hash, alerts, attempt, at, outcome) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                .bind(&a.id)
                .bind(&a.tenant_id)
                .bind(&a.channel)
                .bind(&a.group_key)
                .bind(&a.content_hash)
                .bind(a.alerts)
                .bind(a.attempt)
                .bind(a.at)
                .bind(&a.outcome),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn notification_attempts(&self, tenant_id: &TenantId, limit: i64) -> StoreResult<Vec<NotificationAttempt>> {
        self.read_all(
            q("SELECT * FROM notification_attempts WHERE tenant_id = $1 ORDER BY at DESC, attempt DESC, id LIMIT $2")
                .bind(tenant_id)
                .bind(limit.max(0)),
        )
        .await
    }

    async fn document(&self, kind: DocumentKind, tenant_id: &TenantId) -> StoreResult<Option<DocumentRecord>> {
        let sql = format!("SELECT * FROM {} WHERE tenant_id = $1 ORDER BY version DESC LIMIT 1", kind.table());
        self.read_optional(q(&sql).bind(tenant_id)).await
    }

    async fn document_version(
        &self,
        kind: DocumentKind,
        tenant_id: &TenantId,
        version: i64,
    ) -> StoreResult<Option<DocumentRecord>> {
        let sql = format!("SELECT * FROM {} WHERE tenant_id = $1 AND version = $2", kind.table());
        self.read_optional(q(&sql).bind(tenant_id).bind(version)).await
    }

    async fn document_versions(
        &self,
        kind: DocumentKind,
        tenant_id: &TenantId,
        limit: i64,
    ) -> StoreResult<Vec<DocumentRecord>> {
        let sql = format!("SELECT * FROM {} WHERE tenant_id = $1 ORDER BY version DESC LIMIT $2", kind.table());
        self.read_all(q(&sql).bind(tenant_id).bind(limit.max(0))).await
    }

    async fn insert_document(&self, kind: DocumentKind, r: &DocumentRecord, event: &NewEvent) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let current_sql = format!("SELECT * FROM {} WHERE tenant_id = $1 ORDER BY version DESC LIMIT 1", kind.table());
        let current: Option<DocumentRecord> = tx.fetch_optional(q(&current_sql).bind(&r.tenant_id)).await?;
        if current.map_or(0, |c| c.version) != r.version - 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        // Two writers may both have read the same current version; the key decides.
        let insert_sql = format!(
            "INSERT INTO {} (tenant_id, version, doc, author, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tenant_id, version) DO NOTHING",
            kind.table()
        );
        let inserted = tx
            .execute(q(&insert_sql).bind(&r.tenant_id).bind(r.version).bind(&r.doc).bind(&r.author).bind(r.created_at))
            .await?;
        if inserted != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn alerts(&self, tenant_id: &TenantId, since: Timestamp, limit: i64) -> StoreResult<Vec<AlertRecord>> {
        self.read_all(
            q("SELECT * FROM alerts WHERE tenant_id = $1 AND created_at >= $2 ORDER BY created_at DESC, id DESC LIMIT $3")
                .bind(tenant_id)
                .bind(since)
                .bind(limit.max(0)),
        )
        .await
    }

    async fn dead_letters(&self, tenant_id: &TenantId, limit: i64) -> StoreResult<Vec<DeadLetter>> {
        self.read_all(
            q("SELECT * FROM dead_letters WHERE tenant_id = $1 ORDER BY received_at DESC, id DESC LIMIT $2")
                .bind(tenant_id)
                .bind(limit.max(0)),
        )
        .await
    }

    async fn ingest_retention(&self, tenant_id: &TenantId) -> StoreResult<Option<i64>> {
        let row: Option<RetentionRow> = self
            .read_optional(q("SELECT retention_days FROM watch_settings WHERE tenant_id = $1").bind(tenant_id))
            .await?;
        Ok(row.map(|r| r.retention_days))
    }

    async fn set_ingest_retention(
        &self,
        tenant_id: &TenantId,
        days: i64,
        now: Timestamp,
        event: &NewEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        tx.execute(
            q("INSERT INTO watch_settings (tenant_id, retention_days, updated_at) VALUES ($1, $2, $3) \
               ON CONFLICT (tenant_id) DO UPDATE SET retention_days = excluded.retention_days, updated_at = excluded.updated_at")
            .bind(tenant_id)
            .bind(days)
            .bind(now),
        )
        .await?;
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn prune_ingested(&self, now: Timestamp, default_days: i64) -> StoreResult<u64> {
        const DAY_MS: i64 = 86_400_000;
        let cutoff = |days: i64| now.0.saturating_sub(days.saturating_mul(DAY_MS));
        let mut tx = self.begin().await?;
        // Events and dead letters: tenant by tenant, so each DELETE is a range of the
        // (tenant_id, received_at) index. One statement whose cutoff reads the tenant's
        // setting row by row cannot use an index: it read the whole table, every page of it,
        // once a minute while holding the writer.
        let mut gone = 0;
        for table in ["ingested_events", "dead_letters"] {
            let tenants: Vec<TenantIdRow> = tx.fetch_all(q(&distinct_tenants(table))).await?;
            for t in tenants {
                let days: Option<RetentionRow> = tx
                    .fetch_optional(q("SELECT retention_days FROM watch_settings WHERE tenant_id = $1").bind(&t.id))
                    .await?;
                let cut = cutoff(days.map_or(default_days, |r| r.retention_days));
                gone += tx
                    .execute(
                        q(&format!("DELETE FROM {table} WHERE tenant_id = $1 AND received_at < $2"))
                            .bind(&t.id)
                            .bind(cut),
                    )
                    .await?;
            }
        }
        // The index (its rows not moved yet, and postings all of whose events are gone) goes
        // with its events (not counted: the events are what was pruned). Staged batches are
        // left to the background move, as they also carry the alerts' entities and the
        // roll-up counts, which are kept; their entries for pruned events find nothing. Each
        // row is tested against its tenant's cutoff, and first against the latest cutoff of
        // any tenant, which every pruned row is older than and the time indexes can serve.
        let shortest: Option<RetentionRow> = tx
            .fetch_optional(
                q("SELECT COALESCE(MIN(retention_days), $1) AS retention_days FROM watch_settings").bind(default_days),
            )
            .await?;
        let latest = cutoff(shortest.map_or(default_days, |r| r.retention_days.min(default_days)));
        for (table, at) in
            [("event_index", "received_at"), ("event_index_recent", "received_at"), ("event_postings", "newest_at")]
        {
            tx.execute(
                q(&format!(
                    "DELETE FROM {table} WHERE {at} < $3 AND {at} < $1 - COALESCE((SELECT s.retention_days FROM \
                     watch_settings s WHERE s.tenant_id = {table}.tenant_id), $2) * 86400000"
                ))
                .bind(now)
                .bind(default_days)
                .bind(latest),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(gone)
    }
}

/// The tenants with rows in `table`, each found by one seek of its `(tenant_id, …)` index (a
/// loose index scan: `SELECT DISTINCT` would read every entry).
fn distinct_tenants(table: &str) -> String {
    format!(
        "WITH RECURSIVE t(id) AS (SELECT MIN(tenant_id) FROM {table} \
         UNION ALL SELECT (SELECT MIN(x.tenant_id) FROM {table} x WHERE x.tenant_id > t.id) FROM t WHERE t.id IS NOT NULL) \
         SELECT id FROM t WHERE id IS NOT NULL"
    )
}
