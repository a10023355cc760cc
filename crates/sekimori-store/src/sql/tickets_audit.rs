// Tickets, environments, reading the audit log and pruning expired rows (see `common.rs`).

#[async_trait]
impl TicketStore for This {
    async fn insert_ticket(&self, t: &Ticket, event: &NewEvent) -> StoreResult<()> {
        self.audited(sqlx::query(
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
        Ok(sqlx::query_as("SELECT * FROM tickets WHERE id = $1").bind(id).fetch_optional(self.r()).await?)
    }

    async fn ticket_with_holder(&self, id: &str) -> StoreResult<Option<(Ticket, String)>> {
        let row: Option<TicketWithHolder> = sqlx::query_as(
            "SELECT t.*, u.username AS holder FROM tickets t JOIN users u ON u.id = t.user_id WHERE t.id = $1",
        )
        .bind(id)
        .fetch_optional(self.r())
        .await?;
        Ok(row.map(|r| (r.ticket, r.holder)))
    }

    async fn user_tickets(&self, user_id: &str, now: i64) -> StoreResult<Vec<Ticket>> {
        Ok(sqlx::query_as(
            "SELECT * FROM tickets WHERE user_id = $1 AND redeemed_at IS NULL AND expires_at > $2 ORDER BY created_at, id",
        )
        .bind(user_id)
        .bind(now)
        .fetch_all(self.r())
        .await?)
    }

    async fn redeem_ticket(&self, id: &str, app_id: &str, now: i64, event: &NewEvent) -> StoreResult<Consume<Ticket>> {
        let mut tx = self.begin().await?;
        let redeemed: Option<Ticket> = sqlx::query_as(
            "UPDATE tickets SET redeemed_at = $1, redeemed_by = $2 WHERE id = $3 AND redeemed_at IS NULL AND expires_at > $1 RETURNING *",
        )
        .bind(now)
        .bind(app_id)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
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
        let before: Option<EnvironmentRecord> =
            sqlx::query_as("SELECT * FROM environments WHERE user_id = $1 AND env_key = $2")
                .bind(&e.user_id)
                .bind(&e.env_key)
                .fetch_optional(&mut *tx)
                .await?;
        sqlx::query(
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
        .bind(e.trusted)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(before)
    }

    async fn list_environments(&self, user_id: &str) -> StoreResult<Vec<EnvironmentRecord>> {
        Ok(sqlx::query_as("SELECT * FROM environments WHERE user_id = $1 ORDER BY last_seen DESC, env_key")
            .bind(user_id)
            .fetch_all(self.r())
            .await?)
    }

    async fn set_environment_trust(
        &self,
        user_id: &str,
        env_key: &str,
        trusted: bool,
        event: &NewEvent,
    ) -> StoreResult<bool> {
        self.audited(
            sqlx::query("UPDATE environments SET trusted = $1 WHERE user_id = $2 AND env_key = $3")
                .bind(trusted)
                .bind(user_id)
                .bind(env_key),
            event,
            Audit::IfChanged,
        )
        .await
    }

    async fn revoke_environment(&self, user_id: &str, env_key: &str, event: &NewEvent) -> StoreResult<bool> {
        self.audited(
            sqlx::query("DELETE FROM environments WHERE user_id = $1 AND env_key = $2").bind(user_id).bind(env_key),
            event,
            Audit::IfChanged,
        )
        .await
    }
}

#[async_trait]
impl AuditStore for This {
    async fn append(&self, event: &NewEvent) -> StoreResult<i64> {
        self.audit_only(event).await
    }

    async fn events(&self, f: &EventFilter) -> StoreResult<Vec<StoredEvent>> {
        let mut q = sqlx::QueryBuilder::<Db>::new("SELECT * FROM audit_events WHERE 1 = 1");
        if let Some(t) = &f.tenant_id {
            q.push(" AND tenant_id = ").push_bind(t.clone());
        }
        if let Some(u) = &f.user_id {
            q.push(" AND user_id = ").push_bind(u.clone());
        }
        if let Some(a) = &f.action {
            match a.strip_suffix('*') {
                Some(prefix) => {
                    let escaped = prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                    q.push(" AND action LIKE ").push_bind(format!("{escaped}%")).push(" ESCAPE '\\'");
                }
                None => {
                    q.push(" AND action = ").push_bind(a.clone());
                }
            }
        }
        if let Some(s) = f.since {
            q.push(" AND ts >= ").push_bind(s.millis());
        }
        if let Some(u) = f.until {
            q.push(" AND ts < ").push_bind(u.millis());
        }
        if let Some(after) = f.after_seq {
            q.push(" AND seq > ").push_bind(after);
        }
        q.push(" ORDER BY seq LIMIT ").push_bind(f.limit.max(0));
        Ok(q.build_query_as().fetch_all(self.r()).await?)
    }
}

#[async_trait]
impl RetentionStore for This {
    async fn prune_expired(&self, cutoff: i64) -> StoreResult<u64> {
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
        ] {
            gone += sqlx::query(sql).bind(cutoff).execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(gone)
    }
}
