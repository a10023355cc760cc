// Web Push subscriptions (see `common.rs`).

#[async_trait]
impl PushStore for This {
    async fn put_push_subscription(&self, s: &PushSubscription, event: &NewEvent) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        tx.execute(q("DELETE FROM push_subscriptions WHERE device_id = $1").bind(&s.device_id)).await?;
        tx.execute(
            q("INSERT INTO push_subscriptions (device_id, tenant_id, user_id, endpoint, p256dh, auth, created_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&s.device_id)
            .bind(&s.tenant_id)
            .bind(&s.user_id)
            .bind(&s.endpoint)
            .bind(&s.p256dh)
            .bind(&s.auth)
            .bind(s.created_at),
        )
        .await?;
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn push_subscriptions(&self, user_id: &UserId) -> StoreResult<Vec<PushSubscription>> {
        self.read_all(
            q("SELECT p.* FROM push_subscriptions p JOIN devices d ON d.id = p.device_id \
               WHERE p.user_id = $1 AND d.revoked_at IS NULL ORDER BY p.created_at, p.device_id")
            .bind(user_id),
        )
        .await
    }

    async fn delete_push_subscription(&self, device_id: &DeviceId, endpoint: &str) -> StoreResult<bool> {
        let n = self
            .write(
                q("DELETE FROM push_subscriptions WHERE device_id = $1 AND endpoint = $2")
                    .bind(device_id)
                    .bind(endpoint),
            )
            .await?;
        Ok(n == 1)
    }
}
