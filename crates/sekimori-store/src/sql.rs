// The SQL both backends share. This file is `include!`d into `sqlite.rs` and `postgres.rs`;
// each defines `Db`, `This`, `This::w()` (the pool that writes), `This::r()` (the pool that
// reads) and `This::lock_audit()` (what serialises appends to the audit chain).
//
// Parameters are numbered (`$1`), which both sqlx drivers accept; every query is written so
// that the same text means the same on both.

use async_trait::async_trait;
use sekimori_core::canonical::to_canonical_string;
use sekimori_core::event::NewEvent;

use crate::records::*;
use crate::traits::*;
use crate::{chain_hash, StoreResult, GENESIS_HASH};

type Tx = sqlx::Transaction<'static, Db>;

impl This {
    /// Appends `event` to the audit chain inside `tx`.
    ///
    /// Fast path: one conditional insert that chains onto the cached head and only
    /// succeeds if the database agrees that the head is still the last row. A stale cache
    /// (a rolled-back transaction, another process) costs one retry, never a broken chain.
    /// Rows are only ever appended consecutively, so "no row `seq`" means the head is last;
    /// the guard is an equality on the primary key (a range would plan as a scan).
    async fn append_in(&self, tx: &mut Tx, event: &NewEvent) -> StoreResult<i64> {
        Self::lock_audit(tx).await?;
        let doc = to_canonical_string(&event.to_ecs());
        let cached = self.audit_head.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some((head_seq, head_hash)) = cached {
            let seq = head_seq + 1;
            let hash = chain_hash(&head_hash, &doc);
            let n = sqlx::query(
                "INSERT INTO audit_events (seq, tenant_id, ts, action, outcome, user_id, doc, prev_hash, hash) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 \
                 WHERE EXISTS (SELECT 1 FROM audit_events WHERE seq = $10 AND hash = $8) \
                 AND NOT EXISTS (SELECT 1 FROM audit_events WHERE seq = $1)",
            )
            .bind(seq)
            .bind(&event.tenant)
            .bind(event.timestamp.millis())
            .bind(&event.action)
            .bind(event.outcome.as_str())
            .bind(&event.user_id)
            .bind(&doc)
            .bind(&head_hash)
            .bind(&hash)
            .bind(head_seq)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            if n == 1 {
                *self.audit_head.lock().unwrap_or_else(|p| p.into_inner()) = Some((seq, hash));
                return Ok(seq);
            }
        }
        let head: Option<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
                .fetch_optional(&mut **tx)
                .await?;
        let (seq, prev) = match head {
            Some((seq, hash)) => (seq + 1, hash),
            None => (1, GENESIS_HASH.to_vec()),
        };
        let hash = chain_hash(&prev, &doc);
        sqlx::query(
            "INSERT INTO audit_events (seq, tenant_id, ts, action, outcome, user_id, doc, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(seq)
        .bind(&event.tenant)
        .bind(event.timestamp.millis())
        .bind(&event.action)
        .bind(event.outcome.as_str())
        .bind(&event.user_id)
        .bind(&doc)
        .bind(&prev)
        .bind(&hash)
        .execute(&mut **tx)
        .await?;
        *self.audit_head.lock().unwrap_or_else(|p| p.into_inner()) = Some((seq, hash));
        Ok(seq)
    }

    /// Begins a write transaction.
    async fn begin(&self) -> StoreResult<Tx> {
        Ok(self.w().begin().await?)
    }

    /// Runs `event` alone in its own transaction.
    async fn audit_only(&self, event: &NewEvent) -> StoreResult<i64> {
        let mut tx = self.begin().await?;
        let seq = self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(seq)
    }
}

async fn insert_assertion(tx: &mut Tx, a: &AssertionRecord) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO assertions (jti, tenant_id, user_id, username, login_id, level, amr, issued_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&a.jti)
    .bind(&a.tenant_id)
    .bind(&a.user_id)
    .bind(&a.username)
    .bind(&a.login_id)
    .bind(a.level)
    .bind(&a.amr)
    .bind(a.issued_at)
    .bind(a.expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn close_standby(tx: &mut Tx, user_id: &str, now: i64) -> StoreResult<()> {
    sqlx::query("UPDATE standby_windows SET closed_at = $1 WHERE user_id = $2 AND closed_at IS NULL AND expires_at > $1")
        .bind(now)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn mark_environment_login(
    tx: &mut Tx,
    tenant_id: &str,
    user_id: &str,
    env_key: &str,
    env_json: &str,
    now: i64,
) -> StoreResult<()> {
    let env: serde_json::Value = serde_json::from_str(env_json).unwrap_or(serde_json::Value::Null);
    let text = |k: &str| {
        env.get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("unknown")
            .to_owned()
    };
    sqlx::query(
        "INSERT INTO environments (user_id, env_key, tenant_id, browser, os, network, country, first_seen, last_seen, last_login_at, trusted) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $8, FALSE) \
         ON CONFLICT (user_id, env_key) DO UPDATE SET last_seen = excluded.last_seen, last_login_at = excluded.last_login_at",
    )
    .bind(user_id)
    .bind(env_key)
    .bind(tenant_id)
    .bind(text("browser"))
    .bind(text("os"))
    .bind(text("network"))
    .bind(env.get("country").and_then(|v| v.as_str()).map(str::to_owned))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait]
impl TenantStore for This {
    async fn ensure_tenant(&self, t: &Tenant) -> StoreResult<(Tenant, bool)> {
        let mut tx = self.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO tenants (id, name, standby_required, standby_seconds, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(&t.id)
        .bind(&t.name)
        .bind(t.standby_required)
        .bind(t.standby_seconds)
        .bind(t.created_at)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let stored: Tenant = sqlx::query_as("SELECT * FROM tenants WHERE name = $1")
            .bind(&t.name)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok((stored, inserted))
    }

    async fn tenant_by_name(&self, name: &str) -> StoreResult<Option<Tenant>> {
        Ok(sqlx::query_as("SELECT * FROM tenants WHERE name = $1")
            .bind(name)
            .fetch_optional(self.r())
            .await?)
    }

    async fn tenant(&self, id: &str) -> StoreResult<Option<Tenant>> {
        Ok(sqlx::query_as("SELECT * FROM tenants WHERE id = $1")
            .bind(id)
            .fetch_optional(self.r())
            .await?)
    }

    async fn update_standby_settings(
        &self,
        id: &str,
        required: bool,
        seconds: i64,
        event: &NewEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE tenants SET standby_required = $1, standby_seconds = $2 WHERE id = $3")
            .bind(required)
            .bind(seconds)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl CredentialStore for This {
    async fn insert_admin_token(&self, t: &AdminToken, event: &NewEvent) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query("INSERT INTO admin_tokens (id, tenant_id, name, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&t.id)
            .bind(&t.tenant_id)
            .bind(&t.name)
            .bind(&t.secret_hash)
            .bind(t.created_at)
            .execute(&mut *tx)
            .await?;
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn admin_token(&self, id: &str) -> StoreResult<Option<AdminToken>> {
        Ok(sqlx::query_as("SELECT * FROM admin_tokens WHERE id = $1")
            .bind(id)
            .fetch_optional(self.r())
            .await?)
    }

    async fn insert_app(&self, a: &App, event: &NewEvent) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let taken: Option<(String,)> = sqlx::query_as(
            "SELECT id FROM apps WHERE tenant_id = $1 AND name = $2 AND revoked_at IS NULL",
        )
        .bind(&a.tenant_id)
        .bind(&a.name)
        .fetch_optional(&mut *tx)
        .await?;
        if taken.is_some() {
            return Ok(false);
        }
        sqlx::query("INSERT INTO apps (id, tenant_id, name, kind, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&a.id)
            .bind(&a.tenant_id)
            .bind(&a.name)
            .bind(&a.kind)
            .bind(&a.secret_hash)
            .bind(a.created_at)
            .execute(&mut *tx)
            .await?;
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn app(&self, id: &str) -> StoreResult<Option<App>> {
        Ok(sqlx::query_as("SELECT * FROM apps WHERE id = $1")
            .bind(id)
            .fetch_optional(self.r())
            .await?)
    }

    async fn list_apps(&self, tenant_id: &str) -> StoreResult<Vec<App>> {
        Ok(
            sqlx::query_as("SELECT * FROM apps WHERE tenant_id = $1 ORDER BY name, created_at")
                .bind(tenant_id)
                .fetch_all(self.r())
                .await?,
        )
    }

    async fn revoke_app(&self, id: &str, now: i64, event: &NewEvent) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let n = sqlx::query("UPDATE apps SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 1 {
            self.append_in(&mut tx, event).await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }
}

#[async_trait]
impl UserStore for This {
    async fn insert_user(&self, u: &User, event: &NewEvent) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "INSERT INTO users (id, tenant_id, username, email, display_name, disabled, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, username) DO NOTHING",
        )
        .bind(&u.id)
        .bind(&u.tenant_id)
        .bind(&u.username)
        .bind(&u.email)
        .bind(&u.display_name)
        .bind(u.disabled)
        .bind(u.created_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 1 {
            self.append_in(&mut tx, event).await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }

    async fn user(&self, id: &str) -> StoreResult<Option<User>> {
        Ok(sqlx::query_as("SELECT * FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(self.r())
            .await?)
    }

    async fn user_by_name(&self, tenant_id: &str, username: &str) -> StoreResult<Option<User>> {
        Ok(
            sqlx::query_as("SELECT * FROM users WHERE tenant_id = $1 AND username = $2")
                .bind(tenant_id)
                .bind(username)
                .fetch_optional(self.r())
                .await?,
        )
    }

    async fn list_users(&self, tenant_id: &str) -> StoreResult<Vec<User>> {
        Ok(
            sqlx::query_as("SELECT * FROM users WHERE tenant_id = $1 ORDER BY username")
                .bind(tenant_id)
                .fetch_all(self.r())
                .await?,
        )
    }
}

#[async_trait]
impl DeviceStore for This {
    async fn insert_enrollment(&self, e: &Enrollment, event: &NewEvent) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO enrollments (id, tenant_id, user_id, code_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&e.id)
        .bind(&e.tenant_id)
        .bind(&e.user_id)
        .bind(&e.code_hash)
        .bind(e.created_at)
        .bind(e.expires_at)
        .execute(&mut *tx)
        .await?;
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn consume_enrollment(
        &self,
        code_hash: &[u8],
        now: i64,
        device: &Device,
        event: &NewEvent,
    ) -> StoreResult<Consume<(Enrollment, Device)>> {
        let mut tx = self.begin().await?;
        let consumed: Option<Enrollment> = sqlx::query_as(
            "UPDATE enrollments SET used_at = $1, device_id = $2 WHERE code_hash = $3 AND used_at IS NULL AND expires_at > $1 RETURNING *",
        )
        .bind(now)
        .bind(&device.id)
        .bind(code_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(enrollment) = consumed else {
            tx.rollback().await?;
            let found: Option<Enrollment> =
                sqlx::query_as("SELECT * FROM enrollments WHERE code_hash = $1")
                    .bind(code_hash)
                    .fetch_optional(self.r())
                    .await?;
            return Ok(match found {
                None => Consume::NotFound,
                Some(Enrollment {
                    used_at: Some(at), ..
                }) => Consume::AlreadyUsed { at },
                Some(_) => Consume::Expired,
            });
        };
        let device = Device {
            user_id: enrollment.user_id.clone(),
            tenant_id: enrollment.tenant_id.clone(),
            ..device.clone()
        };
        sqlx::query("INSERT INTO devices (id, tenant_id, user_id, name, public_key, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&device.id)
            .bind(&device.tenant_id)
            .bind(&device.user_id)
            .bind(&device.name)
            .bind(&device.public_key)
            .bind(device.created_at)
            .execute(&mut *tx)
            .await?;
        // The enrolment decides the tenant and user; the caller cannot know them before.
        let mut event = event.clone();
        event.tenant = device.tenant_id.clone();
        event.user_id = Some(device.user_id.clone());
        let (username,): (String,) =
            sqlx::query_as("SELECT username FROM users WHERE id = $1").bind(&device.user_id).fetch_one(&mut *tx).await?;
        event.user_name = Some(username);
        self.append_in(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(Consume::Done((enrollment, device)))
    }

    async fn device(&self, id: &str) -> StoreResult<Option<Device>> {
        Ok(sqlx::query_as("SELECT * FROM devices WHERE id = $1")
            .bind(id)
            .fetch_optional(self.r())
            .await?)
    }

    async fn list_devices(&self, user_id: &str) -> StoreResult<Vec<Device>> {
        Ok(sqlx::query_as(
            "SELECT * FROM devices WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at",
        )
        .bind(user_id)
        .fetch_all(self.r())
        .await?)
    }

    async fn revoke_device(&self, id: &str, now: i64, event: &NewEvent) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let n =
            sqlx::query("UPDATE devices SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if n == 1 {
            self.append_in(&mut tx, event).await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }

    async fn remember_nonce(
        &self,
        device_id: &str,
        nonce: &str,
        expires_at: i64,
    ) -> StoreResult<bool> {
        let n = sqlx::query("INSERT INTO device_nonces (device_id, nonce, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(device_id)
            .bind(nonce)
            .bind(expires_at)
            .execute(self.w())
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    async fn prune_nonces(&self, now: i64) -> StoreResult<u64> {
        Ok(
            sqlx::query("DELETE FROM device_nonces WHERE expires_at < $1")
                .bind(now)
                .execute(self.w())
                .await?
                .rows_affected(),
        )
    }
}

#[async_trait]
impl LoginStore for This {
    async fn open_standby(&self, w: &StandbyWindow, event: &NewEvent) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO standby_windows (id, tenant_id, user_id, device_id, opened_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&w.id)
        .bind(&w.tenant_id)
        .bind(&w.user_id)
        .bind(&w.device_id)
        .bind(w.opened_at)
        .bind(w.expires_at)
        .execute(&mut *tx)
        .await?;
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn active_standby(&self, user_id: &str, now: i64) -> StoreResult<Option<StandbyWindow>> {
        Ok(sqlx::query_as(
            "SELECT * FROM standby_windows WHERE user_id = $1 AND closed_at IS NULL AND opened_at <= $2 AND expires_at > $2 \
             ORDER BY expires_at DESC LIMIT 1",
        )
        .bind(user_id)
        .bind(now)
        .fetch_optional(self.r())
        .await?)
    }

    async fn insert_login(
        &self,
        l: &LoginRequest,
        messages: &[InboxMessage],
        event: &NewEvent,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
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
        .bind(&l.status)
        .execute(&mut *tx)
        .await?;
        insert_messages_in(&mut tx, messages).await?;
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn login(&self, id: &str) -> StoreResult<Option<LoginRequest>> {
        Ok(sqlx::query_as("SELECT * FROM login_requests WHERE id = $1")
            .bind(id)
            .fetch_optional(self.r())
            .await?)
    }

    async fn decide_login(
        &self,
        id: &str,
        device_id: &str,
        decision: &Decision,
        now: i64,
        event: &NewEvent,
    ) -> StoreResult<Consume<LoginRequest>> {
        let (status, jti) = match decision {
            Decision::Approve(a) => ("approved", Some(a.jti.as_str())),
            Decision::Deny => ("denied", None),
        };
        let mut tx = self.begin().await?;
        let decided: Option<LoginRequest> = sqlx::query_as(
            "UPDATE login_requests SET status = $1, decided_at = $2, device_id = $3, assertion_jti = $4 \
             WHERE id = $5 AND status = 'pending' AND expires_at > $2 RETURNING *",
        )
        .bind(status)
        .bind(now)
        .bind(device_id)
        .bind(jti)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(login) = decided else {
            tx.rollback().await?;
            return Ok(match self.login(id).await? {
                None => Consume::NotFound,
                Some(LoginRequest {
                    decided_at: Some(at),
                    ..
                }) => Consume::AlreadyUsed { at },
                Some(_) => Consume::Expired,
            });
        };
        if let Decision::Approve(a) = decision {
            insert_assertion(&mut tx, a).await?;
            close_standby(&mut tx, &login.user_id, now).await?;
            mark_environment_login(
                &mut tx,
                &login.tenant_id,
                &login.user_id,
                &login.env_key,
                &login.environment,
                now,
            )
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

    async fn pending_messages(&self, user_id: &str, now: i64) -> StoreResult<Vec<InboxMessage>> {
        Ok(sqlx::query_as(
            "SELECT m.* FROM inbox m LEFT JOIN login_requests l ON l.id = m.login_id \
             WHERE m.user_id = $1 AND m.expires_at > $2 AND m.dismissed_at IS NULL \
             AND (m.login_id IS NULL OR l.status = 'pending') ORDER BY m.created_at, m.id",
        )
        .bind(user_id)
        .bind(now)
        .fetch_all(self.r())
        .await?)
    }

    async fn dismiss_message(&self, id: &str, user_id: &str, now: i64) -> StoreResult<bool> {
        let n = sqlx::query("UPDATE inbox SET dismissed_at = $1 WHERE id = $2 AND user_id = $3 AND dismissed_at IS NULL")
            .bind(now)
            .bind(id)
            .bind(user_id)
            .execute(self.w())
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    async fn insert_qr(&self, s: &QrSession) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO qr_sessions (id, tenant_id, token_hash, poll_hash, environment, env_key, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&s.id)
        .bind(&s.tenant_id)
        .bind(&s.token_hash)
        .bind(&s.poll_hash)
        .bind(&s.environment)
        .bind(&s.env_key)
        .bind(s.created_at)
        .bind(s.expires_at)
        .execute(self.w())
        .await?;
        Ok(())
    }

    async fn qr(&self, id: &str) -> StoreResult<Option<QrSession>> {
        Ok(sqlx::query_as("SELECT * FROM qr_sessions WHERE id = $1")
            .bind(id)
            .fetch_optional(self.r())
            .await?)
    }

    async fn redeem_qr(
        &self,
        token_hash: &[u8],
        device: &Device,
        assertion: &AssertionRecord,
        now: i64,
        event: &NewEvent,
    ) -> StoreResult<Consume<QrSession>> {
        let mut tx = self.begin().await?;
        let redeemed: Option<QrSession> = sqlx::query_as(
            "UPDATE qr_sessions SET used_at = $1, user_id = $2, device_id = $3, assertion_jti = $4 \
             WHERE token_hash = $5 AND tenant_id = $6 AND used_at IS NULL AND expires_at > $1 RETURNING *",
        )
        .bind(now)
        .bind(&device.user_id)
        .bind(&device.id)
        .bind(&assertion.jti)
        .bind(token_hash)
        .bind(&device.tenant_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(session) = redeemed else {
            tx.rollback().await?;
            let found: Option<QrSession> = sqlx::query_as(
                "SELECT * FROM qr_sessions WHERE token_hash = $1 AND tenant_id = $2",
            )
            .bind(token_hash)
            .bind(&device.tenant_id)
            .fetch_optional(self.r())
            .await?;
            return Ok(match found {
                None => Consume::NotFound,
                Some(QrSession {
                    used_at: Some(at), ..
                }) => Consume::AlreadyUsed { at },
                Some(_) => Consume::Expired,
            });
        };
        let assertion = AssertionRecord {
            login_id: session.id.clone(),
            ..assertion.clone()
        };
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
        Ok(sqlx::query_as("SELECT * FROM assertions WHERE jti = $1")
            .bind(jti)
            .fetch_optional(self.r())
            .await?)
    }

    async fn consume_assertion(
        &self,
        jti: &str,
        app_id: &str,
        now: i64,
        event: &NewEvent,
    ) -> StoreResult<Consume<AssertionRecord>> {
        let mut tx = self.begin().await?;
        let consumed: Option<AssertionRecord> = sqlx::query_as(
            "UPDATE assertions SET consumed_at = $1, consumed_by = $2 WHERE jti = $3 AND consumed_at IS NULL AND expires_at > $1 RETURNING *",
        )
        .bind(now)
        .bind(app_id)
        .bind(jti)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(a) = consumed else {
            tx.rollback().await?;
            return Ok(match self.assertion(jti).await? {
                None => Consume::NotFound,
                Some(AssertionRecord {
                    consumed_at: Some(at),
                    ..
                }) => Consume::AlreadyUsed { at },
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
        sqlx::query(
            "INSERT INTO inbox (id, tenant_id, user_id, kind, login_id, body, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&m.id)
        .bind(&m.tenant_id)
        .bind(&m.user_id)
        .bind(&m.kind)
        .bind(&m.login_id)
        .bind(&m.body)
        .bind(m.created_at)
        .bind(m.expires_at)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[async_trait]
impl TicketStore for This {
    async fn insert_ticket(&self, t: &Ticket, event: &NewEvent) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO tickets (id, tenant_id, user_id, entitlement, issued_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&t.id)
        .bind(&t.tenant_id)
        .bind(&t.user_id)
        .bind(&t.entitlement)
        .bind(&t.issued_by)
        .bind(t.created_at)
        .bind(t.expires_at)
        .execute(&mut *tx)
        .await?;
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn ticket(&self, id: &str) -> StoreResult<Option<Ticket>> {
        Ok(sqlx::query_as("SELECT * FROM tickets WHERE id = $1")
            .bind(id)
            .fetch_optional(self.r())
            .await?)
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

    async fn redeem_ticket(
        &self,
        id: &str,
        app_id: &str,
        now: i64,
        event: &NewEvent,
    ) -> StoreResult<Consume<Ticket>> {
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
                Some(Ticket {
                    redeemed_at: Some(at),
                    ..
                }) => Consume::AlreadyUsed { at },
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
    async fn observe_environment(
        &self,
        e: &EnvironmentRecord,
    ) -> StoreResult<Option<EnvironmentRecord>> {
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
        Ok(sqlx::query_as(
            "SELECT * FROM environments WHERE user_id = $1 ORDER BY last_seen DESC, env_key",
        )
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
        let mut tx = self.begin().await?;
        let n =
            sqlx::query("UPDATE environments SET trusted = $1 WHERE user_id = $2 AND env_key = $3")
                .bind(trusted)
                .bind(user_id)
                .bind(env_key)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if n == 1 {
            self.append_in(&mut tx, event).await?;
        }
        tx.commit().await?;
        Ok(n == 1)
    }

    async fn revoke_environment(
        &self,
        user_id: &str,
        env_key: &str,
        event: &NewEvent,
    ) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let n = sqlx::query("DELETE FROM environments WHERE user_id = $1 AND env_key = $2")
            .bind(user_id)
            .bind(env_key)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 1 {
            self.append_in(&mut tx, event).await?;
        }
        tx.commit().await?;
        Ok(n == 1)
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
                    let escaped = prefix
                        .replace('\\', "\\\\")
                        .replace('%', "\\%")
                        .replace('_', "\\_");
                    q.push(" AND action LIKE ")
                        .push_bind(format!("{escaped}%"))
                        .push(" ESCAPE '\\'");
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
