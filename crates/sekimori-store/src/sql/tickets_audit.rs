// Tickets, environments, reading the audit log and pruning expired rows (see `common.rs`).

#[async_trait]
impl TicketStore for This {
    async fn insert_ticket(&self, t: &Ticket, event: &NewEvent) -> StoreResult<()> {
        self.audited(q(
            "INSERT INTO tickets (id, tenant_id, user_id, entitlement, issued_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&t.id)
        .bind(&t.tenant_id)
        .bind(&t.user_id)
        .bind(&t.entitlement)
        .bind(&t.issued_by)
        .bind(t.created_at)
        .bind(t.expires_at), event, Audit::Always).await?;
        Ok(())
    }

    async fn ticket(&self, id: &str) -> StoreResult<Option<Ticket>> {
        self.read_optional(q("SELECT * FROM tickets WHERE id = $1").bind(id)).await
    }

    async fn ticket_with_holder(&self, id: &str) -> StoreResult<Option<(Ticket, String)>> {
        let row: Option<TicketWithHolder> = self
            .read_optional(
                q("SELECT t.*, u.username AS holder FROM tickets t JOIN users u ON u.id = t.user_id WHERE t.id = $1")
                    .bind(id),
            )
            .await?;
        Ok(row.map(|r| (r.ticket, r.holder)))
    }

    async fn user_tickets(&self, user_id: &UserId, now: Timestamp) -> StoreResult<Vec<Ticket>> {
        self.read_all(q(
            "SELECT * FROM tickets WHERE user_id = $1 AND redeemed_at IS NULL AND expires_at > $2 ORDER BY created_at, id",
        )
        .bind(user_id)
        .bind(now)).await
    }

    async fn redeem_ticket(
        &self,
        id: &str,
        app_id: &AppId,
        now: Timestamp,
        event: &NewEvent,
    ) -> StoreResult<Consume<Ticket>> {
        let mut tx = self.begin().await?;
        let redeemed: Option<Ticket> = tx.fetch_optional(q(
            "UPDATE tickets SET redeemed_at = $1, redeemed_by = $2 WHERE id = $3 AND redeemed_at IS NULL AND expires_at > $1 RETURNING *",
        )
        .bind(now)
        .bind(app_id)
        .bind(id)).await?;
        let Some(t) = redeemed else {
            tx.rollback().await?;
            return Ok(match self.ticket(id).await? {
                None => Consume::NotFound,
                Some(Ticket { redeemed_at: Some(at), .. }) => Consume::AlreadyUsed { at },
                Some(_) => Consume::Expired,
            });
        };
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(Consume::Done(t))
    }
}

#[async_trait]
impl EnvironmentStore for This {
    async fn observe_environment(&self, e: &EnvironmentRecord) -> StoreResult<Option<EnvironmentRecord>> {
        let mut tx = self.begin().await?;
        let before: Option<EnvironmentRecord> = tx
            .fetch_optional(
                q("SELECT * FROM environments WHERE user_id = $1 AND env_key = $2").bind(&e.user_id).bind(&e.env_key),
            )
            .await?;
        tx.execute(q(
            "INSERT INTO environments (user_id, env_key, tenant_id, browser, os, network, country, first_seen, last_seen, last_login_at, trusted) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (user_id, env_key) DO UPDATE SET last_seen = excluded.last_seen, country = excluded.country",
        )
        .bind(&e.user_id)
        .bind(&e.env_key)
        .bind(&e.tenant_id)
        .bind(&e.browser)
        .bind(&e.os)
        .bind(&e.network)
        .bind(&e.country)
        .bind(e.first_seen)
        .bind(e.last_seen)
        .bind(e.last_login_at)
        .bind(e.trusted)).await?;
        tx.commit().await?;
        Ok(before)
    }

    async fn list_environments(&self, user_id: &UserId) -> StoreResult<Vec<EnvironmentRecord>> {
        Ok(self
            .read_all(q("SELECT * FROM environments WHERE user_id = $1 ORDER BY last_seen DESC, env_key").bind(user_id))
            .await?)
    }

    async fn set_environment_trust(
        &self,
        user_id: &UserId,
        env_key: &str,
        trusted: bool,
        event: &NewEvent,
    ) -> StoreResult<bool> {
        self.audited(
            q("UPDATE environments SET trusted = $1 WHERE user_id = $2 AND env_key = $3")
                .bind(trusted)
                .bind(user_id)
                .bind(env_key),
            event,
            Audit::IfChanged,
        )
        .await
    }

    async fn revoke_environment(&self, user_id: &UserId, env_key: &str, event: &NewEvent) -> StoreResult<bool> {
        self.audited(
            q("DELETE FROM environments WHERE user_id = $1 AND env_key = $2").bind(user_id).bind(env_key),
            event,
            Audit::IfChanged,
        )
        .await
    }

    async fn environment_login(
        &self,
        tenant_id: &TenantId,
        user_id: &UserId,
        env_key: &str,
        env: &Environment,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        mark_environment_login(&mut tx, tenant_id, user_id, env_key, env, now).await?;
        tx.commit().await
    }
}

#[async_trait]
impl AuditStore for This {
    async fn audit_rollups(
        &self,
        tenant_id: &TenantId,
        since: Timestamp,
        until: Timestamp,
    ) -> StoreResult<Vec<AuditRollup>> {
        let from = since.floor_to(HOUR_MS);
        self.read_all(
            q("SELECT hour, action, outcome, label, n FROM audit_rollups \
               WHERE tenant_id = $1 AND hour >= $2 AND hour < $3 ORDER BY hour, action, outcome, label")
            .bind(tenant_id)
            .bind(from)
            .bind(until),
        )
        .await
    }

    async fn append(&self, event: &NewEvent) -> StoreResult<i64> {
        self.audit_only(event).await
    }

    async fn audit_head(&self) -> StoreResult<Option<StoredEvent>> {
        self.read_optional(q("SELECT * FROM audit_events ORDER BY seq DESC LIMIT 1")).await
    }

    async fn audit_base(&self) -> StoreResult<Option<AuditBase>> {
        self.read_optional(q("SELECT seq, hash, sig, archived_at FROM audit_base WHERE id = 1")).await
    }

    async fn archive_audit(&self, base: &AuditBase, event: &NewEvent) -> StoreResult<Result<u64, ArchiveRefused>> {
        let mut tx = self.begin().await?;
        Self::lock_audit(&mut tx).await?;
        let row: Option<AuditHeadRow> =
            tx.fetch_optional(q("SELECT seq, hash FROM audit_events WHERE seq = $1").bind(base.seq)).await?;
        match row {
            Some(r) if r.hash == base.hash => {}
            _ => return Ok(Err(ArchiveRefused::NotInLog)),
        }
        let later: Option<SeqRow> =
            tx.fetch_optional(q("SELECT seq FROM audit_events WHERE seq > $1 LIMIT 1").bind(base.seq)).await?;
        if later.is_none() {
            return Ok(Err(ArchiveRefused::NotArchivable));
        }
        self.append_in(&mut tx, event).await?;
        let deleted = tx.execute(q("DELETE FROM audit_events WHERE seq <= $1").bind(base.seq)).await?;
        tx.execute(
            q("INSERT INTO audit_base (id, seq, hash, sig, archived_at) VALUES (1, $1, $2, $3, $4) \
               ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, sig = excluded.sig, \
               archived_at = excluded.archived_at")
            .bind(base.seq)
            .bind(base.hash.as_slice())
            .bind(base.sig.as_str())
            .bind(base.archived_at),
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(deleted))
    }

    async fn events(&self, f: &EventFilter) -> StoreResult<Vec<StoredEvent>> {
        let mut query = q("SELECT * FROM audit_events WHERE 1 = 1");
        if let Some(t) = &f.tenant_id {
            query.push_bind(" AND tenant_id = ", t);
        }
        if let Some(u) = &f.user_id {
            query.push_bind(" AND user_id = ", u);
        }
        if let Some(a) = &f.action {
            match a.strip_suffix('*') {
                Some(prefix) => {
                    let escaped = prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                    query.push_bind(" AND action LIKE ", format!("{escaped}%"));
                    query.push(" ESCAPE '\\'");
                }
                None => query.push_bind(" AND action = ", a),
            }
        }
        if let Some(s) = f.since {
            query.push_bind(" AND ts >= ", s.millis());
        }
        if let Some(u) = f.until {
            query.push_bind(" AND ts < ", u.millis());
        }
        if let Some(after) = f.after_seq {
            query.push_bind(" AND seq > ", after);
        }
        let order = if f.newest_first { " ORDER BY seq DESC LIMIT " } else { " ORDER BY seq LIMIT " };
        query.push_bind(order, f.limit.max(0));
        self.read_all(query).await
    }
}

#[async_trait]
impl RetentionStore for This {
    async fn probe_write(&self, node: &str, now: Timestamp) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        tx.execute(
            q("INSERT INTO health_probe (node, written_at) VALUES ($1, $2) \
               ON CONFLICT (node) DO UPDATE SET written_at = excluded.written_at")
            .bind(node)
            .bind(now),
        )
        .await?;
        tx.commit().await
    }

    async fn prune_expired(&self, cutoff: Timestamp) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        let mut gone = 0;
        for sql in [
            "DELETE FROM qr_sessions WHERE expires_at < $1",
            "DELETE FROM inbox WHERE expires_at < $1",
            "DELETE FROM login_requests WHERE expires_at < $1",
            "DELETE FROM enrollments WHERE expires_at < $1",
            "DELETE FROM assertions WHERE expires_at < $1",
            "DELETE FROM standby_windows WHERE expires_at < $1",
            "DELETE FROM tickets WHERE expires_at < $1",
            "DELETE FROM sessions WHERE expires_at < $1",
            "DELETE FROM oidc_codes WHERE expires_at < $1",
            "DELETE FROM oidc_refresh_tokens WHERE expires_at < $1",
            "DELETE FROM passkey_ceremonies WHERE expires_at < $1",
            "DELETE FROM login_throttle WHERE window_start < $1 AND (locked_until IS NULL OR locked_until < $1)",
        ] {
            gone += tx.execute(q(sql).bind(cutoff)).await?;
        }
        tx.commit().await?;
        Ok(gone)
    }
}
