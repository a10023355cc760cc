// Passwords, the tenant's password policy and login throttling (see `common.rs`).

#[async_trait]
impl PasswordStore for This {
    async fn set_password(&self, r: &PasswordRecord, event: &NewEvent) -> StoreResult<()> {
        self.audited(
            q("INSERT INTO passwords (user_id, tenant_id, hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5) \
               ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, updated_at = excluded.updated_at")
            .bind(&r.user_id)
            .bind(&r.tenant_id)
            .bind(&r.hash)
            .bind(r.created_at)
            .bind(r.updated_at),
            event,
            Audit::Always,
        )
        .await?;
        Ok(())
    }

    async fn password(&self, user_id: &UserId) -> StoreResult<Option<PasswordRecord>> {
        self.read_optional(q("SELECT * FROM passwords WHERE user_id = $1").bind(user_id)).await
    }

    async fn rehash_password(&self, user_id: &UserId, old: &str, new: &str, now: Timestamp) -> StoreResult<bool> {
        let n = self
            .write(
                q("UPDATE passwords SET hash = $1, updated_at = $2 WHERE user_id = $3 AND hash = $4")
                    .bind(new)
                    .bind(now)
                    .bind(user_id)
                    .bind(old),
            )
            .await?;
        Ok(n == 1)
    }

    async fn delete_password(&self, user_id: &UserId, event: &NewEvent) -> StoreResult<bool> {
        self.audited(q("DELETE FROM passwords WHERE user_id = $1").bind(user_id), event, Audit::IfChanged).await
    }

    async fn set_password_policy(&self, tenant_id: &TenantId, level: i64, event: &NewEvent) -> StoreResult<()> {
        self.audited(
            q("UPDATE tenants SET password_policy = $1 WHERE id = $2").bind(level).bind(tenant_id),
            event,
            Audit::Always,
        )
        .await?;
        Ok(())
    }

    async fn record_login_failure(
        &self,
        hit: &ThrottleHit<'_>,
        event: Option<&NewEvent>,
    ) -> StoreResult<ThrottleRecord> {
        let sql = count_failure_sql("");
        let mut tx = self.begin().await?;
        let row: ThrottleRecord = tx.fetch_one(bind_hit(q(&sql), hit)).await?;
        if let Some(event) = event {
            self.append_in(&mut tx, event).await?;
        }
        tx.commit().await?;
        Ok(row)
    }

    async fn reserve_login_attempt(&self, hit: &ThrottleHit<'_>) -> StoreResult<Option<ThrottleRecord>> {
        // The update does not happen (no row comes back) while the lock lasts.
        let sql = count_failure_sql(" WHERE login_throttle.locked_until IS NULL OR login_throttle.locked_until <= $3");
        let mut tx = self.begin().await?;
        let row: Option<ThrottleRecord> = tx.fetch_optional(bind_hit(q(&sql), hit)).await?;
        tx.commit().await?;
        Ok(row)
    }

    async fn login_throttle(&self, key: &str) -> StoreResult<Option<ThrottleRecord>> {
        self.read_optional(q("SELECT * FROM login_throttle WHERE key = $1").bind(key)).await
    }

    async fn clear_login_throttle(&self, key: &str) -> StoreResult<()> {
        self.write(q("DELETE FROM login_throttle WHERE key = $1").bind(key)).await?;
        Ok(())
    }
}

/// One statement that counts a failure against a key: the count after this failure is
/// `n`; reaching the limit locks the key and starts a new count. Every SET expression sees
/// the row as it was. `condition` may keep an existing row from being counted.
fn count_failure_sql(condition: &str) -> String {
    const N: &str = "(CASE WHEN login_throttle.window_start <= $3 - $4 THEN 1 ELSE login_throttle.failures + 1 END)";
    format!(
        "INSERT INTO login_throttle (key, tenant_id, failures, window_start, locked_until) \
         VALUES ($1, $2, CASE WHEN 1 >= $5 THEN 0 ELSE 1 END, $3, CASE WHEN 1 >= $5 THEN $3 + $6 ELSE NULL END) \
         ON CONFLICT (key) DO UPDATE SET \
           failures = CASE WHEN {N} >= $5 THEN 0 ELSE {N} END, \
           window_start = CASE WHEN {N} >= $5 OR login_throttle.window_start <= $3 - $4 THEN $3 \
                          ELSE login_throttle.window_start END, \
           locked_until = CASE WHEN {N} >= $5 THEN $3 + $6 ELSE login_throttle.locked_until END\
         {condition} RETURNING *"
    )
}

fn bind_hit<'q>(query: Q<'q>, hit: &ThrottleHit<'q>) -> Q<'q> {
    query.bind(hit.key).bind(hit.tenant_id).bind(hit.now).bind(hit.window_ms).bind(hit.max_failures).bind(hit.lock_ms)
}
