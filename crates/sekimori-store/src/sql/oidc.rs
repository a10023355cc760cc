// The OIDC provider's clients, signing keys, codes and refresh tokens (see `common.rs`).

#[async_trait]
impl OidcStore for This {
    async fn insert_oidc_client(&self, app: &App, c: &OidcClient, event: &NewEvent) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        if !insert_app_in(&mut tx, app).await? {
            return Ok(false);
        }
        tx.execute(
            q("INSERT INTO oidc_clients (app_id, tenant_id, public, redirect_uris, post_logout_redirect_uris, \
               id_token_alg, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&c.app_id)
            .bind(&c.tenant_id)
            .bind(c.public)
            .bind(&c.redirect_uris)
            .bind(&c.post_logout_redirect_uris)
            .bind(&c.id_token_alg)
            .bind(c.created_at),
        )
        .await?;
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn oidc_client(&self, app_id: &AppId) -> StoreResult<Option<OidcClient>> {
        self.read_optional(q("SELECT * FROM oidc_clients WHERE app_id = $1").bind(app_id)).await
    }

    async fn list_oidc_clients(&self, tenant_id: &TenantId) -> StoreResult<Vec<OidcClient>> {
        self.read_all(q("SELECT * FROM oidc_clients WHERE tenant_id = $1 ORDER BY created_at").bind(tenant_id)).await
    }

    async fn set_oidc_client_uris(
        &self,
        app_id: &AppId,
        redirect_uris: &[String],
        post_logout_redirect_uris: &[String],
        event: &NewEvent,
    ) -> StoreResult<bool> {
        let (redirect, post_logout) = (redirect_uris.to_vec(), post_logout_redirect_uris.to_vec());
        self.audited(
            q("UPDATE oidc_clients SET redirect_uris = $1, post_logout_redirect_uris = $2 WHERE app_id = $3 \
               AND app_id IN (SELECT id FROM apps WHERE revoked_at IS NULL)")
            .bind(&redirect)
            .bind(&post_logout)
            .bind(app_id),
            event,
            Audit::IfChanged,
        )
        .await
    }

    async fn insert_oidc_key(&self, k: &OidcKey, event: &NewEvent) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        tx.execute(
            q("UPDATE oidc_keys SET retired_at = $1 WHERE alg = $2 AND retired_at IS NULL")
                .bind(k.created_at)
                .bind(&k.alg),
        )
        .await?;
        tx.execute(
            q("INSERT INTO oidc_keys (kid, alg, private_sealed, public_jwk, created_at, retired_at) \
               VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&k.kid)
            .bind(&k.alg)
            .bind(&k.private_sealed)
            .bind(&k.public_jwk)
            .bind(k.created_at)
            .bind(k.retired_at),
        )
        .await?;
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn oidc_keys(&self) -> StoreResult<Vec<OidcKey>> {
        self.read_all(q("SELECT * FROM oidc_keys ORDER BY created_at DESC, kid")).await
    }

    async fn prune_oidc_keys(&self, cutoff: Timestamp) -> StoreResult<u64> {
        self.write(q("DELETE FROM oidc_keys WHERE retired_at IS NOT NULL AND retired_at < $1").bind(cutoff)).await
    }

    async fn insert_oidc_code(&self, c: &OidcCode, event: &NewEvent) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        tx.execute(
            q("INSERT INTO oidc_codes (id, tenant_id, client_id, user_id, session_id, redirect_uri, scope, nonce, \
               code_challenge, auth_time, level, amr, family_id, created_at, expires_at, consumed_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)")
            .bind(&c.id)
            .bind(&c.tenant_id)
            .bind(&c.client_id)
            .bind(&c.user_id)
            .bind(&c.session_id)
            .bind(&c.redirect_uri)
            .bind(&c.scope)
            .bind(&c.nonce)
            .bind(&c.code_challenge)
            .bind(c.auth_time)
            .bind(c.level)
            .bind(&c.amr)
            .bind(&c.family_id)
            .bind(c.created_at)
            .bind(c.expires_at)
            .bind(c.consumed_at),
        )
        .await?;
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn oidc_code(&self, id: &str) -> StoreResult<Option<OidcCode>> {
        self.read_optional(q("SELECT * FROM oidc_codes WHERE id = $1").bind(id)).await
    }

    async fn consume_oidc_code(
        &self,
        id: &str,
        now: Timestamp,
        refresh: Option<&OidcRefreshToken>,
        event: &NewEvent,
    ) -> StoreResult<Consume<OidcCode>> {
        let mut tx = self.begin().await?;
        let consumed: Option<OidcCode> = tx
            .fetch_optional(
                q("UPDATE oidc_codes SET consumed_at = $1 WHERE id = $2 AND consumed_at IS NULL AND expires_at > $1 \
                   RETURNING *")
                .bind(now)
                .bind(id),
            )
            .await?;
        let Some(code) = consumed else {
            tx.rollback().await?;
            return Ok(match self.oidc_code(id).await? {
                None => Consume::NotFound,
                Some(OidcCode { consumed_at: Some(at), .. }) => Consume::AlreadyUsed { at },
                Some(_) => Consume::Expired,
            });
        };
        if let Some(r) = refresh {
            insert_refresh_in(&mut tx, r).await?;
        }
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(Consume::Done(code))
    }

    async fn oidc_family_revoked(&self, family_id: &str) -> StoreResult<bool> {
        let row: Option<OidcRefreshToken> = self
            .read_optional(
                q("SELECT * FROM oidc_refresh_tokens WHERE family_id = $1 AND revoked_at IS NOT NULL LIMIT 1")
                    .bind(family_id),
            )
            .await?;
        Ok(row.is_some())
    }

    async fn oidc_refresh_token(&self, id: &str) -> StoreResult<Option<OidcRefreshToken>> {
        self.read_optional(q("SELECT * FROM oidc_refresh_tokens WHERE id = $1").bind(id)).await
    }

    async fn rotate_oidc_refresh(
        &self,
        id: &str,
        next: &OidcRefreshToken,
        now: Timestamp,
        event: &NewEvent,
        reuse_event: &NewEvent,
    ) -> StoreResult<Rotation> {
        let mut tx = self.begin().await?;
        let used: Option<OidcRefreshToken> = tx
            .fetch_optional(
                q("UPDATE oidc_refresh_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL \
                   AND revoked_at IS NULL AND expires_at > $1 RETURNING *")
                .bind(now)
                .bind(id),
            )
            .await?;
        if let Some(old) = used {
            insert_refresh_in(&mut tx, next).await?;
            self.append_in(&mut tx, event).await?;
            tx.commit().await?;
            return Ok(Rotation::Done(old));
        }
        let found: Option<OidcRefreshToken> =
            tx.fetch_optional(q("SELECT * FROM oidc_refresh_tokens WHERE id = $1").bind(id)).await?;
        let Some(old) = found else {
            tx.rollback().await?;
            return Ok(Rotation::NotFound);
        };
        if old.used_at.is_none() && old.revoked_at.is_none() {
            tx.rollback().await?;
            return Ok(Rotation::Expired);
        }
        // A used token presented again: the one transaction that marks it revoked is the
        // reuse (it revokes the family and logs it); any other finds it revoked already
        // (a concurrent reuse, a logout, an earlier reuse) and changes nothing.
        let claimed: Option<OidcRefreshToken> = tx
            .fetch_optional(
                q("UPDATE oidc_refresh_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING *")
                    .bind(now)
                    .bind(id),
            )
            .await?;
        if claimed.is_none() {
            tx.rollback().await?;
            return Ok(Rotation::Revoked(old));
        }
        tx.execute(
            q("UPDATE oidc_refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
                .bind(now)
                .bind(&old.family_id),
        )
        .await?;
        self.append_in(&mut tx, reuse_event).await?;
        tx.commit().await?;
        Ok(Rotation::Reused(old))
    }

    async fn revoke_oidc_family(&self, family_id: &str, now: Timestamp, event: &NewEvent) -> StoreResult<u64> {
        let mut tx = self.begin().await?;
        let n = tx
            .execute(
                q("UPDATE oidc_refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
                    .bind(now)
                    .bind(family_id),
            )
            .await?;
        self.append_in(&mut tx, event).await?;
        tx.commit().await?;
        Ok(n)
    }
}

async fn insert_refresh_in(tx: &mut Tx, r: &OidcRefreshToken) -> StoreResult<()> {
    tx.execute(
        q("INSERT INTO oidc_refresh_tokens (id, family_id, tenant_id, client_id, user_id, session_id, scope, \
           auth_time, level, amr, created_at, expires_at, used_at, revoked_at) \
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)")
        .bind(&r.id)
        .bind(&r.family_id)
        .bind(&r.tenant_id)
        .bind(&r.client_id)
        .bind(&r.user_id)
        .bind(&r.session_id)
        .bind(&r.scope)
        .bind(r.auth_time)
        .bind(r.level)
        .bind(&r.amr)
        .bind(r.created_at)
        .bind(r.expires_at)
        .bind(r.used_at)
        .bind(r.revoked_at),
    )
    .await?;
    Ok(())
}
