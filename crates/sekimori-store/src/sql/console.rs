// Console roles (see `common.rs`). A grant goes with its user or group: `delete_user` and
// `delete_group` delete the grants naming them (no foreign key: the subject is in one of
// two tables).

#[async_trait]
impl ConsoleStore for This {
    async fn put_console_grant(&self, g: &ConsoleGrant, event: &NewEvent) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        tx.execute(
            q("DELETE FROM console_grants WHERE tenant_id = $1 AND subject_kind = $2 AND subject_id = $3")
                .bind(&g.tenant_id)
                .bind(g.subject_kind)
                .bind(&g.subject_id),
        )
        .await?;
        tx.execute(
            q("INSERT INTO console_grants (tenant_id, subject_kind, subject_id, role, scope, created_at, created_by) \
               VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&g.tenant_id)
            .bind(g.subject_kind)
            .bind(&g.subject_id)
            .bind(g.role)
            .bind(&g.scope)
            .bind(g.created_at)
            .bind(&g.created_by),
        )
        .await?;
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_console_grant(
        &self,
        tenant_id: &TenantId,
        kind: ConsoleSubject,
        subject_id: &str,
        event: &NewEvent,
    ) -> StoreResult<bool> {
        self.audited(
            q("DELETE FROM console_grants WHERE tenant_id = $1 AND subject_kind = $2 AND subject_id = $3")
                .bind(tenant_id)
                .bind(kind)
                .bind(subject_id),
            event,
            Audit::IfChanged,
        )
        .await
    }

    async fn console_grants(&self, tenant_id: &TenantId) -> StoreResult<Vec<ConsoleGrant>> {
        self.read_all(
            q("SELECT * FROM console_grants WHERE tenant_id = $1 ORDER BY subject_kind, subject_id").bind(tenant_id),
        )
        .await
    }

    async fn console_grants_of(&self, user_id: &UserId) -> StoreResult<Vec<ConsoleGrant>> {
        self.read_all(
            q("SELECT c.* FROM console_grants c JOIN users u ON u.id = $1 AND u.tenant_id = c.tenant_id \
               WHERE (c.subject_kind = 'user' AND c.subject_id = $1) \
               OR (c.subject_kind = 'group' AND c.subject_id IN (SELECT group_id FROM group_members WHERE user_id = $1)) \
               ORDER BY c.subject_kind, c.subject_id")
            .bind(user_id),
        )
        .await
    }
}
