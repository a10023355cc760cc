// Browser sessions (see `common.rs`).

#[async_trait]
impl SessionStore for This {
    async fn insert_session(&self, r: &SessionRecord, replaces: Option<&str>, event: &NewEvent) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        if let Some(old) = replaces {
            tx.execute(
                q("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                    .bind(r.created_at)
                    .bind(old),
            )
            .await?;
        }
        tx.execute(
            q("INSERT INTO sessions (id, tenant_id, user_id, level, amr, auth_time, created_at, last_seen_at, expires_at, \
               revoked_at, sso_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)")
            .bind(&r.id)
            .bind(&r.tenant_id)
            .bind(&r.user_id)
            .bind(r.level)
            .bind(&r.amr)
            .bind(r.auth_time)
            .bind(r.created_at)
            .bind(r.last_seen_at)
            .bind(r.expires_at)
            .bind(r.revoked_at)
            .bind(&r.sso_id),
        )
        .await?;
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session(&self, id: &SessionId) -> StoreResult<Option<SessionRecord>> {
        self.read_optional(q("SELECT * FROM sessions WHERE id = $1").bind(id)).await
    }

    async fn sso_session(&self, sso_id: &SessionId) -> StoreResult<Option<SessionRecord>> {
        self.read_optional(
            q("SELECT * FROM sessions WHERE sso_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC LIMIT 1")
                .bind(sso_id),
        )
        .await
    }

    async fn touch_session(&self, id: &SessionId, now: Timestamp) -> StoreResult<()> {
        self.write(q("UPDATE sessions SET last_seen_at = $1 WHERE id = $2 AND last_seen_at < $1").bind(now).bind(id))
            .await?;
        Ok(())
    }

    async fn revoke_session(&self, id: &SessionId, now: Timestamp, event: &NewEvent) -> StoreResult<bool> {
        self.audited(
            q("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL").bind(now).bind(id),
            event,
            Audit::IfChanged,
        )
        .await
    }

    async fn user_sessions(&self, user_id: &UserId, now: Timestamp) -> StoreResult<Vec<SessionRecord>> {
        self.read_all(
            q("SELECT * FROM sessions WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 \
               ORDER BY created_at DESC, id DESC LIMIT 100")
            .bind(user_id)
            .bind(now),
        )
        .await
    }

    async fn revoke_user_sessions(&self, user_id: &UserId, now: Timestamp, event: &NewEvent) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        let n = tx
            .execute(
                q("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL AND expires_at > $1")
                    .bind(now)
                    .bind(user_id),
            )
            .await?;
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(n)
    }
}
