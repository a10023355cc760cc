// Account administration: user changes and deletion, groups, the tenant's time zone
// (see `common.rs`).

#[async_trait]
impl AccessStore for This {
    async fn update_user(&self, u: &User, event: &NewEvent) -> StoreResult<bool> {
        self.audited(
            q("UPDATE users SET email = $1, display_name = $2, disabled = $3, valid_from = $4, valid_until = $5, \
               login_hours = $6 WHERE id = $7")
            .bind(&u.email)
            .bind(&u.display_name)
            .bind(u.disabled)
            .bind(u.valid_from)
            .bind(u.valid_until)
            .bind(&u.login_hours)
            .bind(&u.id),
            event,
            Audit::IfChanged,
        )
        .await
    }

    async fn delete_user(&self, user_id: &UserId, event: &NewEvent) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        // Tables without a foreign key to users first; the rest cascade, but are named
        // too so the deletion does not depend on the backend's foreign-key setting.
        for sql in [
            "DELETE FROM device_nonces WHERE device_id IN (SELECT id FROM devices WHERE user_id = $1)",
            "DELETE FROM standby_windows WHERE user_id = $1",
            "DELETE FROM inbox WHERE user_id = $1",
            "DELETE FROM login_requests WHERE user_id = $1",
            "DELETE FROM qr_sessions WHERE user_id = $1",
            "DELETE FROM assertions WHERE user_id = $1",
            "DELETE FROM tickets WHERE user_id = $1",
            "DELETE FROM environments WHERE user_id = $1",
            "DELETE FROM console_grants WHERE subject_kind = 'user' AND subject_id = $1",
            "DELETE FROM enrollments WHERE user_id = $1",
            "DELETE FROM devices WHERE user_id = $1",
            "DELETE FROM totp_credentials WHERE user_id = $1",
            "DELETE FROM recovery_codes WHERE user_id = $1",
            "DELETE FROM passwords WHERE user_id = $1",
            "DELETE FROM group_members WHERE user_id = $1",
            "DELETE FROM sessions WHERE user_id = $1",
            "DELETE FROM oidc_codes WHERE user_id = $1",
            "DELETE FROM oidc_refresh_tokens WHERE user_id = $1",
            "DELETE FROM passkeys WHERE user_id = $1",
            "DELETE FROM passkey_ceremonies WHERE user_id = $1",
            "DELETE FROM user_overrides WHERE user_id = $1",
        ] {
            tx.execute(q(sql).bind(user_id)).await?;
        }
        if tx.execute(q("DELETE FROM users WHERE id = $1").bind(user_id)).await? != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn set_time_zone(&self, tenant_id: &TenantId, time_zone: &str, event: &NewEvent) -> StoreResult<()> {
        self.audited(
            q("UPDATE tenants SET time_zone = $1 WHERE id = $2").bind(time_zone).bind(tenant_id),
            event,
            Audit::Always,
        )
        .await?;
        Ok(())
    }

    async fn insert_group(&self, g: &Group, event: &NewEvent) -> StoreResult<bool> {
        self.audited(
            q("INSERT INTO groups (id, tenant_id, name, login_hours, created_at) VALUES ($1, $2, $3, $4, $5) \
               ON CONFLICT (tenant_id, name) DO NOTHING")
            .bind(&g.id)
            .bind(&g.tenant_id)
            .bind(&g.name)
            .bind(&g.login_hours)
            .bind(g.created_at),
            event,
            Audit::IfChanged,
        )
        .await
    }

    async fn group_by_name(&self, tenant_id: &TenantId, name: &str) -> StoreResult<Option<Group>> {
        self.read_optional(q("SELECT * FROM groups WHERE tenant_id = $1 AND name = $2").bind(tenant_id).bind(name))
            .await
    }

    async fn list_groups(&self, tenant_id: &TenantId) -> StoreResult<Vec<Group>> {
        self.read_all(q("SELECT * FROM groups WHERE tenant_id = $1 ORDER BY name").bind(tenant_id)).await
    }

    async fn set_group_hours(
        &self,
        group_id: &str,
        login_hours: Option<&[HoursWindow]>,
        event: &NewEvent,
    ) -> StoreResult<bool> {
        self.audited(
            q("UPDATE groups SET login_hours = $1 WHERE id = $2").bind(login_hours).bind(group_id),
            event,
            Audit::IfChanged,
        )
        .await
    }

    async fn delete_group(&self, group_id: &str, event: &NewEvent) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        tx.execute(q("DELETE FROM group_members WHERE group_id = $1").bind(group_id)).await?;
        tx.execute(q("DELETE FROM console_grants WHERE subject_kind = 'group' AND subject_id = $1").bind(group_id))
            .await?;
        if tx.execute(q("DELETE FROM groups WHERE id = $1").bind(group_id)).await? != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn add_group_member(&self, group_id: &str, user_id: &UserId, event: &NewEvent) -> StoreResult<bool> {
        self.audited(
            q("INSERT INTO group_members (group_id, user_id) VALUES ($1, $2) ON CONFLICT (group_id, user_id) DO NOTHING")
                .bind(group_id)
                .bind(user_id),
            event,
            Audit::IfChanged,
        )
        .await
    }

    async fn remove_group_member(&self, group_id: &str, user_id: &UserId, event: &NewEvent) -> StoreResult<bool> {
        self.audited(
            q("DELETE FROM group_members WHERE group_id = $1 AND user_id = $2").bind(group_id).bind(user_id),
            event,
            Audit::IfChanged,
        )
        .await
    }

    async fn user_groups(&self, user_id: &UserId) -> StoreResult<Vec<Group>> {
        self.read_all(
            q("SELECT g.* FROM groups g JOIN group_members m ON m.group_id = g.id WHERE m.user_id = $1 ORDER BY g.name")
                .bind(user_id),
        )
        .await
    }

    async fn group_member_names(&self, group_id: &str) -> StoreResult<Vec<String>> {
        let rows: Vec<UsernameRow> = self
            .read_all(
                q("SELECT u.username FROM users u JOIN group_members m ON m.user_id = u.id WHERE m.group_id = $1 \
                   ORDER BY u.username")
                .bind(group_id),
            )
            .await?;
        Ok(rows.into_iter().map(|r| r.username).collect())
    }

    async fn insert_override(&self, o: &OverrideRecord, event: &NewEvent) -> StoreResult<bool> {
        self.audited(
            q("INSERT INTO user_overrides (id, tenant_id, user_id, action, level, reason, policy, source, created_at, \
               expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING")
            .bind(&o.id)
            .bind(&o.tenant_id)
            .bind(&o.user_id)
            .bind(o.action)
            .bind(o.level)
            .bind(&o.reason)
            .bind(&o.policy)
            .bind(&o.source)
            .bind(o.created_at)
            .bind(o.expires_at),
            event,
            Audit::IfChanged,
        )
        .await
    }

    async fn user_overrides(&self, user_id: &UserId, now: Timestamp) -> StoreResult<Vec<OverrideRecord>> {
        self.read_all(
            q("SELECT * FROM user_overrides WHERE user_id = $1 AND expires_at > $2 AND lifted_at IS NULL \
               ORDER BY expires_at, id")
            .bind(user_id)
            .bind(now),
        )
        .await
    }

    async fn tenant_overrides(&self, tenant_id: &TenantId, after: Timestamp) -> StoreResult<Vec<OverrideRecord>> {
        self.read_all(
            q("SELECT * FROM user_overrides WHERE tenant_id = $1 AND expires_at > $2 AND lifted_at IS NULL \
               ORDER BY expires_at, id")
            .bind(tenant_id)
            .bind(after),
        )
        .await
    }

    async fn policy_override_count(&self, user_id: &UserId, policy: &str, since: Timestamp) -> StoreResult<i64> {
        let row: Option<CountRow> = self
            .read_optional(
                q("SELECT COUNT(*) AS n FROM user_overrides WHERE user_id = $1 AND policy = $2 AND created_at >= $3")
                    .bind(user_id)
                    .bind(policy)
                    .bind(since),
            )
            .await?;
        Ok(row.map_or(0, |r| r.n))
    }

    async fn lift_override(
        &self,
        tenant_id: &TenantId,
        id: &str,
        at: Timestamp,
        by: &str,
        reason: &str,
        event: &NewEvent,
    ) -> StoreResult<Option<OverrideRecord>> {
        let mut tx = self.begin().await?;
        let current: Option<OverrideRecord> = tx
            .fetch_optional(
                q("SELECT * FROM user_overrides WHERE tenant_id = $1 AND id = $2 AND lifted_at IS NULL \
                   AND expires_at > $3")
                .bind(tenant_id)
                .bind(id)
                .bind(at),
            )
            .await?;
        let Some(current) = current else {
            tx.rollback().await?;
            return Ok(None);
        };
        let n = tx
            .execute(
                q("UPDATE user_overrides SET lifted_at = $1, lifted_by = $2, lift_reason = $3 \
                   WHERE id = $4 AND lifted_at IS NULL")
                .bind(at)
                .bind(by)
                .bind(reason)
                .bind(id),
            )
            .await?;
        if n != 1 {
            tx.rollback().await?;
            return Ok(None);
        }
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(Some(current))
    }
}
