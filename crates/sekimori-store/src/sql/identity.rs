// Tenants, admin tokens and apps, users, enrolments and devices (see `common.rs`).

#[async_trait]
impl TenantStore for This {
    async fn ensure_tenant(&self, t: &Tenant) -> StoreResult<(Tenant, bool)> {
        let mut tx = self.begin().await?;
        let inserted = tx
            .execute(
                q("INSERT INTO tenants (id, name, standby_required, standby_seconds, password_policy, time_zone, \
                   created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO NOTHING")
                .bind(&t.id)
                .bind(&t.name)
                .bind(t.standby_required)
                .bind(t.standby_seconds)
                .bind(t.password_policy)
                .bind(&t.time_zone)
                .bind(t.created_at),
            )
            .await?
            == 1;
        let stored: Tenant = tx.fetch_one(q("SELECT * FROM tenants WHERE name = $1").bind(&t.name)).await?;
        tx.commit().await?;
        Ok((stored, inserted))
    }

    async fn tenant_by_name(&self, name: &str) -> StoreResult<Option<Tenant>> {
        self.read_optional(q("SELECT * FROM tenants WHERE name = $1").bind(name)).await
    }

    async fn tenant(&self, id: &TenantId) -> StoreResult<Option<Tenant>> {
        self.read_optional(q("SELECT * FROM tenants WHERE id = $1").bind(id)).await
    }

    async fn update_standby_settings(
        &self,
        id: &TenantId,
        required: bool,
        seconds: i64,
        event: &NewEvent,
    ) -> StoreResult<()> {
        self.audited(
            q("UPDATE tenants SET standby_required = $1, standby_seconds = $2 WHERE id = $3")
                .bind(required)
                .bind(seconds)
                .bind(id),
            event,
            Audit::Always,
        )
        .await?;
        Ok(())
    }
}

#[async_trait]
impl CredentialStore for This {
    async fn insert_admin_token(&self, t: &AdminToken, event: &NewEvent) -> StoreResult<()> {
        self.audited(
            q("INSERT INTO admin_tokens (id, tenant_id, name, secret_hash, created_at, role, scope) \
               VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&t.id)
            .bind(&t.tenant_id)
            .bind(&t.name)
            .bind(&t.secret_hash)
            .bind(t.created_at)
            .bind(t.role)
            .bind(&t.scope),
            event,
            Audit::Always,
        )
        .await?;
        Ok(())
    }

    async fn admin_token(&self, id: &str) -> StoreResult<Option<AdminToken>> {
        self.read_optional(q("SELECT * FROM admin_tokens WHERE id = $1").bind(id)).await
    }

    async fn list_admin_tokens(&self, tenant_id: &TenantId) -> StoreResult<Vec<AdminToken>> {
        self.read_all(q("SELECT * FROM admin_tokens WHERE tenant_id = $1 ORDER BY created_at, id").bind(tenant_id))
            .await
    }

    async fn revoke_admin_token(&self, id: &str, now: Timestamp, event: &NewEvent) -> StoreResult<bool> {
        self.audited(
            q("UPDATE admin_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL").bind(now).bind(id),
            event,
            Audit::IfChanged,
        )
        .await
    }

    async fn insert_app(&self, a: &App, event: &NewEvent) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        if !insert_app_in(&mut tx, a).await? {
            return Ok(false);
        }
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn set_app_origins(&self, id: &AppId, origins: Option<&[String]>, event: &NewEvent) -> StoreResult<bool> {
        self.audited(
            q("UPDATE apps SET origins = $1 WHERE id = $2 AND revoked_at IS NULL").bind(origins).bind(id),
            event,
            Audit::IfChanged,
        )
        .await
    }

    async fn app(&self, id: &AppId) -> StoreResult<Option<App>> {
        self.read_optional(q("SELECT * FROM apps WHERE id = $1").bind(id)).await
    }

    async fn list_apps(&self, tenant_id: &TenantId) -> StoreResult<Vec<App>> {
        Ok(self
            .read_all(q("SELECT * FROM apps WHERE tenant_id = $1 ORDER BY name, created_at").bind(tenant_id))
            .await?)
    }

    async fn revoke_app(&self, id: &AppId, now: Timestamp, event: &NewEvent) -> StoreResult<bool> {
        self.audited(
            q("UPDATE apps SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL").bind(now).bind(id),
            event,
            Audit::IfChanged,
        )
        .await
    }
}

#[async_trait]
impl UserStore for This {
    async fn insert_user(&self, u: &User, event: &NewEvent) -> StoreResult<bool> {
        self.audited(
            q("INSERT INTO users (id, tenant_id, username, email, display_name, disabled, created_at, valid_from, \
               valid_until, login_hours) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
               ON CONFLICT (tenant_id, username) DO NOTHING")
            .bind(&u.id)
            .bind(&u.tenant_id)
            .bind(&u.username)
            .bind(&u.email)
            .bind(&u.display_name)
            .bind(u.disabled)
            .bind(u.created_at)
            .bind(u.valid_from)
            .bind(u.valid_until)
            .bind(&u.login_hours),
            event,
            Audit::IfChanged,
        )
        .await
    }

    async fn user(&self, id: &UserId) -> StoreResult<Option<User>> {
        self.read_optional(q("SELECT * FROM users WHERE id = $1").bind(id)).await
    }

    async fn user_by_name(&self, tenant_id: &TenantId, username: &str) -> StoreResult<Option<User>> {
        Ok(self
            .read_optional(
                q("SELECT * FROM users WHERE tenant_id = $1 AND username = $2").bind(tenant_id).bind(username),
            )
            .await?)
    }

    async fn list_users(&self, tenant_id: &TenantId) -> StoreResult<Vec<User>> {
        self.read_all(q("SELECT * FROM users WHERE tenant_id = $1 ORDER BY username").bind(tenant_id)).await
    }
}

#[async_trait]
impl DeviceStore for This {
    async fn insert_enrollment(&self, e: &Enrollment, event: &NewEvent) -> StoreResult<()> {
        self.audited(q(
            "INSERT INTO enrollments (id, tenant_id, user_id, code_hash, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&e.id)
        .bind(&e.tenant_id)
        .bind(&e.user_id)
        .bind(&e.code_hash)
        .bind(e.created_at)
        .bind(e.expires_at), event, Audit::Always).await?;
        Ok(())
    }

    async fn consume_enrollment(
        &self,
        code_hash: &[u8],
        now: Timestamp,
        device: &Device,
        event: &NewEvent,
    ) -> StoreResult<Consume<(Enrollment, Device)>> {
        let mut tx = self.begin().await?;
        let consumed: Option<Enrollment> = tx.fetch_optional(q(
            "UPDATE enrollments SET used_at = $1, device_id = $2 WHERE code_hash = $3 AND used_at IS NULL AND expires_at > $1 RETURNING *",
        )
        .bind(now)
        .bind(&device.id)
        .bind(code_hash)).await?;
        let Some(enrollment) = consumed else {
            tx.rollback().await?;
            let found: Option<Enrollment> =
                self.read_optional(q("SELECT * FROM enrollments WHERE code_hash = $1").bind(code_hash)).await?;
            return Ok(match found {
                None => Consume::NotFound,
                Some(Enrollment { used_at: Some(at), .. }) => Consume::AlreadyUsed { at },
                Some(_) => Consume::Expired,
            });
        };
        let device =
            Device { user_id: enrollment.user_id.clone(), tenant_id: enrollment.tenant_id.clone(), ..device.clone() };
        tx.execute(q("INSERT INTO devices (id, tenant_id, user_id, name, public_key, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&device.id)
            .bind(&device.tenant_id)
            .bind(&device.user_id)
            .bind(&device.name)
            .bind(&device.public_key)
            .bind(device.created_at)).await?;
        // The enrolment decides the tenant and user; the caller cannot know them before.
        let mut event = event.clone();
        event.tenant = device.tenant_id.to_string();
        event.user_id = Some(device.user_id.to_string());
        let UsernameRow { username } =
            tx.fetch_one(q("SELECT username FROM users WHERE id = $1").bind(&device.user_id)).await?;
        event.user_name = Some(username);
        self.append_in(&mut tx, &event).await?;
        tx.commit().await?;
        Ok(Consume::Done((enrollment, device)))
    }

    async fn device(&self, id: &DeviceId) -> StoreResult<Option<Device>> {
        self.read_optional(q("SELECT * FROM devices WHERE id = $1").bind(id)).await
    }

    async fn list_devices(&self, user_id: &UserId) -> StoreResult<Vec<Device>> {
        Ok(self
            .read_all(
                q("SELECT * FROM devices WHERE user_id = $1 AND revoked_at IS NULL ORDER BY created_at").bind(user_id),
            )
            .await?)
    }

    async fn revoke_device(&self, id: &DeviceId, now: Timestamp, event: &NewEvent) -> StoreResult<bool> {
        self.audited(
            q("UPDATE devices SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL").bind(now).bind(id),
            event,
            Audit::IfChanged,
        )
        .await
    }

    async fn rename_device(&self, id: &DeviceId, name: &str, event: &NewEvent) -> StoreResult<bool> {
        self.audited(
            q("UPDATE devices SET name = $1 WHERE id = $2 AND revoked_at IS NULL").bind(name).bind(id),
            event,
            Audit::IfChanged,
        )
        .await
    }

    async fn remember_nonce(&self, device_id: &DeviceId, nonce: &str, expires_at: Timestamp) -> StoreResult<bool> {
        let n = self.write(q(
            "INSERT INTO device_nonces (device_id, nonce, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(device_id)
        .bind(nonce)
        .bind(expires_at)).await?;
        Ok(n == 1)
    }

    async fn prune_nonces(&self, now: Timestamp) -> StoreResult<u64> {
        self.write(q("DELETE FROM device_nonces WHERE expires_at < $1").bind(now)).await
    }
}

/// Inserts an app in `tx`; `false` (nothing written) if a live app of that name exists in
/// the tenant.
async fn insert_app_in(tx: &mut Tx, a: &App) -> StoreResult<bool> {
    let taken: Option<App> = tx
        .fetch_optional(
            q("SELECT * FROM apps WHERE tenant_id = $1 AND name = $2 AND revoked_at IS NULL")
                .bind(&a.tenant_id)
                .bind(&a.name),
        )
        .await?;
    if taken.is_some() {
        return Ok(false);
    }
    tx.execute(
        q("INSERT INTO apps (id, tenant_id, name, kind, secret_hash, created_at, origins) \
           VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(&a.id)
        .bind(&a.tenant_id)
        .bind(&a.name)
        .bind(a.kind)
        .bind(&a.secret_hash)
        .bind(a.created_at)
        .bind(&a.origins),
    )
    .await?;
    Ok(true)
}
