// Second factors: TOTP credentials and recovery codes (see `common.rs`).

#[async_trait]
impl FactorStore for This {
    async fn insert_totp(&self, c: &TotpCredential, event: &NewEvent) -> StoreResult<()> {
        self.audited(q(
            "INSERT INTO totp_credentials (id, tenant_id, user_id, secret_sealed, algorithm, digits, period, created_at, confirmed_at, last_step, failures, last_failure_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&c.id)
        .bind(&c.tenant_id)
        .bind(&c.user_id)
        .bind(c.secret_sealed.as_slice())
        .bind(&c.algorithm)
        .bind(c.digits)
        .bind(c.period)
        .bind(c.created_at)
        .bind(c.confirmed_at)
        .bind(c.last_step)
        .bind(c.failures)
        .bind(c.last_failure_at), event, Audit::Always).await?;
        Ok(())
    }

    async fn totp_credential(&self, id: &str) -> StoreResult<Option<TotpCredential>> {
        self.read_optional(q("SELECT * FROM totp_credentials WHERE id = $1").bind(id)).await
    }

    async fn user_totp_credentials(&self, user_id: &UserId) -> StoreResult<Vec<TotpCredential>> {
        self.read_all(q("SELECT * FROM totp_credentials WHERE user_id = $1 ORDER BY created_at, id").bind(user_id))
            .await
    }

    async fn accept_totp_step(
        &self,
        id: &str,
        step: i64,
        now: Timestamp,
        confirm: bool,
        event: &NewEvent,
    ) -> StoreResult<bool> {
        let query = if confirm {
            q("UPDATE totp_credentials SET last_step = $1, failures = 0, confirmed_at = $2 \
               WHERE id = $3 AND last_step < $1 AND confirmed_at IS NULL")
            .bind(step)
            .bind(now)
            .bind(id)
        } else {
            q("UPDATE totp_credentials SET last_step = $1, failures = 0 \
               WHERE id = $2 AND last_step < $1 AND confirmed_at IS NOT NULL")
            .bind(step)
            .bind(id)
        };
        self.audited(query, event, Audit::IfChanged).await
    }

    async fn record_totp_failure(&self, id: &str, now: Timestamp, event: &NewEvent) -> StoreResult<i64> {
        let mut tx = self.begin().await?;
        let row: Option<CountRow> = tx
            .fetch_optional(
                q("UPDATE totp_credentials SET failures = failures + 1, last_failure_at = $1 WHERE id = $2 RETURNING failures AS n")
                    .bind(now)
                    .bind(id),
            )
            .await?;
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(row.map_or(0, |r| r.n))
    }

    async fn delete_totp(&self, user_id: &UserId, id: &str, event: &NewEvent) -> StoreResult<bool> {
        self.audited(
            q("DELETE FROM totp_credentials WHERE id = $1 AND user_id = $2").bind(id).bind(user_id),
            event,
            Audit::IfChanged,
        )
        .await
    }

    async fn replace_recovery_codes(
        &self,
        tenant_id: &TenantId,
        user_id: &UserId,
        hashes: &[Vec<u8>],
        now: Timestamp,
        event: &NewEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        tx.execute(q("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id)).await?;
        for h in hashes {
            tx.execute(
                q("INSERT INTO recovery_codes (user_id, code_hash, tenant_id, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(user_id)
                    .bind(h.as_slice())
                    .bind(tenant_id)
                    .bind(now),
            )
            .await?;
        }
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn consume_recovery_code(
        &self,
        user_id: &UserId,
        hash: &[u8],
        now: Timestamp,
        event: &NewEvent,
    ) -> StoreResult<bool> {
        self.audited(
            q("UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL")
                .bind(now)
                .bind(user_id)
                .bind(hash),
            event,
            Audit::IfChanged,
        )
        .await
    }

    async fn recovery_codes_left(&self, user_id: &UserId) -> StoreResult<i64> {
        let row: Option<CountRow> = self
            .read_optional(
                q("SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL").bind(user_id),
            )
            .await?;
        Ok(row.map_or(0, |r| r.n))
    }
}
