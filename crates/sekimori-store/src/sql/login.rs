// Standby windows, login requests, the device inbox, QR sessions and assertions
// (see `common.rs`).

#[async_trait]
impl LoginStore for This {
    async fn open_standby(&self, w: &StandbyWindow, event: &NewEvent) -> StoreResult<()> {
        self.audited(q(
            "INSERT INTO standby_windows (id, tenant_id, user_id, device_id, opened_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&w.id)
        .bind(&w.tenant_id)
        .bind(&w.user_id)
        .bind(&w.device_id)
        .bind(w.opened_at)
        .bind(w.expires_at), event, Audit::Always).await?;
        Ok(())
    }

    async fn active_standby(&self, user_id: &UserId, now: Timestamp) -> StoreResult<Option<StandbyWindow>> {
        self.read_optional(q(
            "SELECT * FROM standby_windows WHERE user_id = $1 AND closed_at IS NULL AND opened_at <= $2 AND expires_at > $2 \
             ORDER BY expires_at DESC LIMIT 1",
        )
        .bind(user_id)
        .bind(now)).await
    }

    async fn insert_login(&self, l: &LoginRequest, messages: &[InboxMessage], event: &NewEvent) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        tx.execute(q(
            "INSERT INTO login_requests (id, tenant_id, user_id, app_id, number, environment, env_key, env_known, created_at, expires_at, status) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&l.id)
        .bind(&l.tenant_id)
        .bind(&l.user_id)
        .bind(&l.app_id)
        .bind(l.number)
        .bind(&l.environment)
        .bind(&l.env_key)
        .bind(l.env_known)
        .bind(l.created_at)
        .bind(l.expires_at)
        .bind(l.status)).await?;
        insert_messages_in(&mut tx, messages).await?;
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn login(&self, id: &LoginId) -> StoreResult<Option<LoginRequest>> {
        self.read_optional(q("SELECT * FROM login_requests WHERE id = $1").bind(id)).await
    }

    async fn decide_login(
        &self,
        id: &LoginId,
        device_id: &DeviceId,
        decision: &Decision,
        now: Timestamp,
        event: &NewEvent,
    ) -> StoreResult<Consume<LoginRequest>> {
        let (status, jti) = match decision {
            Decision::Approve(a) => (LoginStatus::Approved, Some(a.jti.as_str())),
            Decision::Deny => (LoginStatus::Denied, None),
        };
        let mut tx = self.begin().await?;
        let decided: Option<LoginRequest> = tx
            .fetch_optional(
                q("UPDATE login_requests SET status = $1, decided_at = $2, device_id = $3, assertion_jti = $4 \
             WHERE id = $5 AND status = 'pending' AND expires_at > $2 RETURNING *")
                .bind(status)
                .bind(now)
                .bind(device_id)
                .bind(jti)
                .bind(id),
            )
            .await?;
        let Some(login) = decided else {
            tx.rollback().await?;
            return Ok(match self.login(id).await? {
                None => Consume::NotFound,
                Some(LoginRequest { decided_at: Some(at), .. }) => Consume::AlreadyUsed { at },
                Some(_) => Consume::Expired,
            });
        };
        if let Decision::Approve(a) = decision {
            insert_assertion(&mut tx, a).await?;
            close_standby(&mut tx, &login.user_id, now).await?;
            mark_environment_login(&mut tx, &login.tenant_id, &login.user_id, &login.env_key, &login.environment, now)
                .await?;
        }
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(Consume::Done(login))
    }

    async fn insert_messages(&self, messages: &[InboxMessage]) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        insert_messages_in(&mut tx, messages).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn pending_messages(&self, user_id: &UserId, now: Timestamp) -> StoreResult<Vec<InboxMessage>> {
        Ok(self
            .read_all(
                q("SELECT m.* FROM inbox m LEFT JOIN login_requests l ON l.id = m.login_id \
             WHERE m.user_id = $1 AND m.expires_at > $2 AND m.dismissed_at IS NULL \
             AND (m.login_id IS NULL OR l.status = 'pending') ORDER BY m.created_at, m.id")
                .bind(user_id)
                .bind(now),
            )
            .await?)
    }

    async fn dismiss_message(&self, id: &str, user_id: &UserId, now: Timestamp) -> StoreResult<bool> {
        let n = self
            .write(
                q("UPDATE inbox SET dismissed_at = $1 WHERE id = $2 AND user_id = $3 AND dismissed_at IS NULL")
                    .bind(now)
                    .bind(id)
                    .bind(user_id),
            )
            .await?;
        Ok(n == 1)
    }

    async fn insert_qr(&self, s: &QrSession) -> StoreResult<()> {
        self.write(q(
            "INSERT INTO qr_sessions (id, tenant_id, token_hash, poll_hash, environment, env_key, created_at, expires_at, \
             app_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&s.id)
        .bind(&s.tenant_id)
        .bind(&s.token_hash)
        .bind(&s.poll_hash)
        .bind(&s.environment)
        .bind(&s.env_key)
        .bind(s.created_at)
        .bind(s.expires_at)
        .bind(&s.app_id)).await?;
        Ok(())
    }

    async fn qr(&self, id: &str) -> StoreResult<Option<QrSession>> {
        self.read_optional(q("SELECT * FROM qr_sessions WHERE id = $1").bind(id)).await
    }

    async fn redeem_qr(
        &self,
        token_hash: &[u8],
        device: &Device,
        assertion: &AssertionRecord,
        now: Timestamp,
        event: &NewEvent,
    ) -> StoreResult<Consume<QrSession>> {
        let mut tx = self.begin().await?;
        let redeemed: Option<QrSession> = tx
            .fetch_optional(
                q("UPDATE qr_sessions SET used_at = $1, user_id = $2, device_id = $3, assertion_jti = $4 \
             WHERE token_hash = $5 AND tenant_id = $6 AND used_at IS NULL AND expires_at > $1 RETURNING *")
                .bind(now)
                .bind(&device.user_id)
                .bind(&device.id)
                .bind(&assertion.jti)
                .bind(token_hash)
                .bind(&device.tenant_id),
            )
            .await?;
        let Some(session) = redeemed else {
            tx.rollback().await?;
            let found: Option<QrSession> = self
                .read_optional(
                    q("SELECT * FROM qr_sessions WHERE token_hash = $1 AND tenant_id = $2")
                        .bind(token_hash)
                        .bind(&device.tenant_id),
                )
                .await?;
            return Ok(match found {
                None => Consume::NotFound,
                Some(QrSession { used_at: Some(at), .. }) => Consume::AlreadyUsed { at },
                Some(_) => Consume::Expired,
            });
        };
        let assertion = AssertionRecord { login_id: session.id.clone(), ..assertion.clone() };
        insert_assertion(&mut tx, &assertion).await?;
        mark_environment_login(
            &mut tx,
            &session.tenant_id,
            &device.user_id,
            &session.env_key,
            &session.environment,
            now,
        )
        .await?;
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(Consume::Done(session))
    }

    async fn assertion(&self, jti: &str) -> StoreResult<Option<AssertionRecord>> {
        self.read_optional(q("SELECT * FROM assertions WHERE jti = $1").bind(jti)).await
    }

    async fn consume_assertion(
        &self,
        jti: &str,
        app_id: &AppId,
        now: Timestamp,
        event: &NewEvent,
    ) -> StoreResult<Consume<AssertionRecord>> {
        let mut tx = self.begin().await?;
        let consumed: Option<AssertionRecord> = tx.fetch_optional(q(
            "UPDATE assertions SET consumed_at = $1, consumed_by = $2 WHERE jti = $3 AND consumed_at IS NULL AND expires_at > $1 RETURNING *",
        )
        .bind(now)
        .bind(app_id)
        .bind(jti)).await?;
        let Some(a) = consumed else {
            tx.rollback().await?;
            return Ok(match self.assertion(jti).await? {
                None => Consume::NotFound,
                Some(AssertionRecord { consumed_at: Some(at), .. }) => Consume::AlreadyUsed { at },
                Some(_) => Consume::Expired,
            });
        };
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(Consume::Done(a))
    }
}

async fn insert_messages_in(tx: &mut Tx, messages: &[InboxMessage]) -> StoreResult<()> {
    for m in messages {
        tx.execute(q(
            "INSERT INTO inbox (id, tenant_id, user_id, kind, login_id, body, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&m.id)
        .bind(&m.tenant_id)
        .bind(&m.user_id)
        .bind(m.kind)
        .bind(&m.login_id)
        .bind(&m.body)
        .bind(m.created_at)
        .bind(m.expires_at)).await?;
    }
    Ok(())
}
