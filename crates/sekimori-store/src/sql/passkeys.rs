// Passkeys and their ceremonies (see `common.rs`).

#[async_trait]
impl PasskeyStore for This {
    async fn insert_passkey(&self, p: &PasskeyRecord, event: &NewEvent) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let taken: Option<PasskeyRecord> =
            tx.fetch_optional(q("SELECT * FROM passkeys WHERE id = $1").bind(&p.id)).await?;
        if taken.is_some() {
            return Ok(false);
        }
        tx.execute(
            q("INSERT INTO passkeys (id, tenant_id, user_id, name, credential, created_at, last_used_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&p.id)
            .bind(&p.tenant_id)
            .bind(&p.user_id)
            .bind(&p.name)
            .bind(&p.credential)
            .bind(p.created_at)
            .bind(p.last_used_at),
        )
        .await?;
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn passkey(&self, id: &str) -> StoreResult<Option<PasskeyRecord>> {
        self.read_optional(q("SELECT * FROM passkeys WHERE id = $1").bind(id)).await
    }

    async fn user_passkeys(&self, user_id: &UserId) -> StoreResult<Vec<PasskeyRecord>> {
        self.read_all(q("SELECT * FROM passkeys WHERE user_id = $1 ORDER BY created_at, id").bind(user_id)).await
    }

    async fn passkey_used(&self, id: &str, credential: &str, now: Timestamp) -> StoreResult<()> {
        self.write(
            q("UPDATE passkeys SET credential = $1, last_used_at = $2 WHERE id = $3")
                .bind(credential)
                .bind(now)
                .bind(id),
        )
        .await?;
        Ok(())
    }

    async fn delete_passkey(&self, user_id: &UserId, id: &str, event: &NewEvent) -> StoreResult<bool> {
        self.audited(
            q("DELETE FROM passkeys WHERE id = $1 AND user_id = $2").bind(id).bind(user_id),
            event,
            Audit::IfChanged,
        )
        .await
    }

    async fn insert_passkey_ceremony(&self, c: &PasskeyCeremony) -> StoreResult<()> {
        self.write(
            q("INSERT INTO passkey_ceremonies (id, tenant_id, kind, user_id, state, created_at, expires_at, consumed_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(&c.id)
            .bind(&c.tenant_id)
            .bind(c.kind)
            .bind(&c.user_id)
            .bind(&c.state)
            .bind(c.created_at)
            .bind(c.expires_at)
            .bind(c.consumed_at),
        )
        .await?;
        Ok(())
    }

    async fn consume_passkey_ceremony(&self, id: &str, now: Timestamp) -> StoreResult<Consume<PasskeyCeremony>> {
        let mut tx = self.begin().await?;
        let taken: Option<PasskeyCeremony> = tx
            .fetch_optional(
                q("UPDATE passkey_ceremonies SET consumed_at = $1 WHERE id = $2 AND consumed_at IS NULL \
                   AND expires_at > $1 RETURNING *")
                .bind(now)
                .bind(id),
            )
            .await?;
        let Some(c) = taken else {
            tx.rollback().await?;
            let found: Option<PasskeyCeremony> =
                self.read_optional(q("SELECT * FROM passkey_ceremonies WHERE id = $1").bind(id)).await?;
            return Ok(match found {
                None => Consume::NotFound,
                Some(PasskeyCeremony { consumed_at: Some(at), .. }) => Consume::AlreadyUsed { at },
                Some(_) => Consume::Expired,
            });
        };
        tx.commit().await?;
        Ok(Consume::Done(c))
    }
}
