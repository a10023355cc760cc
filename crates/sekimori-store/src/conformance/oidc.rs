//! Conformance cases for the OIDC provider: clients, signing-key rotation, single-use
//! authorization codes and refresh-token rotation with reuse detection.

use super::*;
use sekimori_core::AppId;
use sekimori_core::Timestamp;

fn app(tenant_id: &str, id: &str, name: &str) -> App {
    App {
        id: id.into(),
        tenant_id: tenant_id.into(),
        name: name.into(),
        kind: AppKind::RelyingParty,
        secret_hash: vec![1; 32],
        created_at: Timestamp(T0),
        revoked_at: None,
        origins: None,
    }
}

fn client(tenant_id: &str, id: &str) -> OidcClient {
    OidcClient {
        app_id: id.into(),
        tenant_id: tenant_id.into(),
        public: true,
        redirect_uris: vec!["https://rp.example/cb".into()],
        post_logout_redirect_uris: Vec::new(),
        id_token_alg: "RS256".into(),
        created_at: Timestamp(T0),
    }
}

fn code(u: &User, id: &str, family: &str) -> OidcCode {
    OidcCode {
        id: id.into(),
        tenant_id: u.tenant_id.clone(),
        client_id: "c1".into(),
        user_id: u.id.clone(),
        session_id: "s1".into(),
        redirect_uri: "https://rp.example/cb".into(),
        scope: "openid".into(),
        nonce: Some("n".into()),
        code_challenge: Some("ch".into()),
        auth_time: Timestamp(T0),
        level: 2,
        amr: vec!["pwd".into(), "otp".into()],
        family_id: family.into(),
        created_at: Timestamp(T0),
        expires_at: Timestamp(T0 + 60_000),
        consumed_at: None,
    }
}

fn refresh(u: &User, id: &str, family: &str) -> OidcRefreshToken {
    OidcRefreshToken {
        id: id.into(),
        family_id: family.into(),
        tenant_id: u.tenant_id.clone(),
        client_id: "c1".into(),
        user_id: u.id.clone(),
        session_id: "s1".into(),
        scope: "openid".into(),
        auth_time: Timestamp(T0),
        level: 2,
        amr: Vec::new(),
        created_at: Timestamp(T0),
        expires_at: Timestamp(T0 + 3_600_000),
        used_at: None,
        revoked_at: None,
    }
}

pub async fn oidc_clients_and_keys_rotate(s: S) {
    let t = tenant(&s).await;
    assert!(s.insert_oidc_client(&app(&t.id, "c1", "wiki"), &client(&t.id, "c1"), &ev("x")).await.expect("insert"));
    assert!(
        !s.insert_oidc_client(&app(&t.id, "c2", "wiki"), &client(&t.id, "c2"), &ev("x")).await.expect("insert"),
        "the app name is taken"
    );
    assert!(s.oidc_client(&AppId::new("c2")).await.expect("read").is_none(), "nothing of the refused client is stored");
    assert_eq!(s.oidc_client(&AppId::new("c1")).await.expect("read"), Some(client(&t.id, "c1")));
    assert!(s.app(&AppId::new("c1")).await.expect("app").is_some(), "the app is stored with its client");
    assert_eq!(s.list_oidc_clients(&t.id).await.expect("list").len(), 1);

    let key = |kid: &str, alg: &str, at: i64| OidcKey {
        kid: kid.into(),
        alg: alg.into(),
        private_sealed: vec![9; 40],
        public_jwk: "{}".into(),
        created_at: Timestamp(at),
        retired_at: None,
    };
    s.insert_oidc_key(&key("r1", "RS256", T0), &ev("oidc.key.created")).await.expect("key");
    s.insert_oidc_key(&key("e1", "ES256", T0), &ev("oidc.key.created")).await.expect("key");
    s.insert_oidc_key(&key("r2", "RS256", T0 + 10), &ev("oidc.key.created")).await.expect("key");
    let keys = s.oidc_keys().await.expect("keys");
    let by = |kid: &str| keys.iter().find(|k| k.kid == kid).cloned().expect("present");
    assert_eq!(keys[0].kid, "r2", "newest first");
    assert_eq!(by("r1").retired_at, Some(Timestamp(T0 + 10)), "the older key of the same algorithm retires");
    assert_eq!(by("e1").retired_at, None, "another algorithm's key stays live");
    assert_eq!(by("r2").retired_at, None);
    assert_eq!(s.prune_oidc_keys(Timestamp(T0 + 10)).await.expect("prune"), 0, "retired at the cutoff is kept");
    assert_eq!(s.prune_oidc_keys(Timestamp(T0 + 11)).await.expect("prune"), 1);
    assert_eq!(s.oidc_keys().await.expect("keys").len(), 2);
}

/// 50 concurrent exchanges of one code: exactly one wins and stores its refresh token.
pub async fn oidc_code_is_consumed_once_under_concurrency(s: S) {
    let u = user(&s, "alice").await;
    s.insert_oidc_code(&code(&u, "code1", "f1"), &ev("oidc.code.issued")).await.expect("insert");
    assert_eq!(s.oidc_code("code1").await.expect("read"), Some(code(&u, "code1", "f1")));
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let s = s.clone();
            let r = refresh(&u, &format!("r{i}"), "f1");
            tokio::spawn(async move {
                s.consume_oidc_code("code1", Timestamp(T0 + 1 + i), Some(&r), &ev("oidc.token.issued")).await
            })
        })
        .collect();
    let mut done = 0;
    let mut already = 0;
    for task in tasks {
        match task.await.expect("join").expect("consume") {
            Consume::Done(c) => {
                assert_eq!(c.family_id, "f1");
                done += 1;
            }
            Consume::AlreadyUsed { .. } => already += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((done, already), (1, 49));
    let stored: Vec<_> = stored_refresh_tokens(&s, 50).await;
    assert_eq!(stored.len(), 1, "only the winner's refresh token is stored");
    let filter = EventFilter { action: Some("oidc.token.issued".into()), limit: 100, ..Default::default() };
    assert_eq!(s.events(&filter).await.expect("events").len(), 1);

    s.insert_oidc_code(&code(&u, "code2", "f2"), &ev("oidc.code.issued")).await.expect("insert");
    assert_eq!(
        s.consume_oidc_code("code2", Timestamp(T0 + 60_000), None, &ev("x")).await.expect("late"),
        Consume::Expired
    );
    assert_eq!(s.consume_oidc_code("nope", Timestamp(T0), None, &ev("x")).await.expect("unknown"), Consume::NotFound);
}

/// The refresh tokens r0..r{n} that exist.
async fn stored_refresh_tokens(s: &S, n: i64) -> Vec<OidcRefreshToken> {
    let mut out = Vec::new();
    for i in 0..n {
        if let Some(r) = s.oidc_refresh_token(&format!("r{i}")).await.expect("read") {
            out.push(r);
        }
    }
    out
}

/// 50 concurrent rotations of one refresh token: one rotates, the others are reuse, and
/// reuse revokes the family, the token just issued included.
pub async fn oidc_refresh_rotates_once_and_reuse_revokes_the_family(s: S) {
    let u = user(&s, "alice").await;
    s.insert_oidc_code(&code(&u, "code1", "fam"), &ev("oidc.code.issued")).await.expect("insert");
    let first = refresh(&u, "rt0", "fam");
    assert!(matches!(
        s.consume_oidc_code("code1", Timestamp(T0 + 1), Some(&first), &ev("oidc.token.issued")).await.expect("consume"),
        Consume::Done(_)
    ));
    // A plain rotation, then the old token again: reuse.
    assert_eq!(
        rotate(&s, &u, "rt0", "rt1", T0 + 2).await,
        Rotation::Done(OidcRefreshToken { used_at: Some(Timestamp(T0 + 2)), ..first })
    );
    assert!(matches!(rotate(&s, &u, "rt0", "rt2", T0 + 3).await, Rotation::Reused(t) if t.id == "rt0"));
    assert!(s.oidc_refresh_token("rt2").await.expect("read").is_none(), "nothing issued on reuse");
    let rt1_now = s.oidc_refresh_token("rt1").await.expect("read").expect("kept");
    assert_eq!(rt1_now.revoked_at, Some(Timestamp(T0 + 3)), "the live token of the family is revoked");
    assert!(
        matches!(rotate(&s, &u, "rt1", "rt2", T0 + 4).await, Rotation::Revoked(t) if t.used_at.is_none()),
        "a revoked family's newest token is refused as revoked, not as another reuse"
    );
    assert!(matches!(rotate(&s, &u, "rt0", "rt2", T0 + 5).await, Rotation::Revoked(_)), "a retry is not a new reuse");
    let reuses =
        s.events(&EventFilter { action: Some("oidc.refresh.reused".into()), limit: 10, ..Default::default() }).await;
    assert_eq!(reuses.expect("events").len(), 1, "one reuse, logged once");

    // Concurrency on a fresh family.
    s.insert_oidc_code(&code(&u, "code2", "fam2"), &ev("oidc.code.issued")).await.expect("insert");
    let start = refresh(&u, "x0", "fam2");
    s.consume_oidc_code("code2", Timestamp(T0 + 1), Some(&start), &ev("oidc.token.issued")).await.expect("consume");
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let s = s.clone();
            let next = refresh(&u, &format!("x{}", i + 1), "fam2");
            tokio::spawn(async move {
                s.rotate_oidc_refresh(
                    "x0",
                    &next,
                    Timestamp(T0 + 10 + i),
                    &ev("oidc.token.refreshed"),
                    &ev("oidc.refresh.reused"),
                )
                .await
            })
        })
        .collect();
    let (mut done, mut reused, mut revoked) = (0, 0, 0);
    for task in tasks {
        match task.await.expect("join").expect("rotate") {
            Rotation::Done(_) => done += 1,
            Rotation::Reused(_) => reused += 1,
            Rotation::Revoked(_) => revoked += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((done, reused, revoked), (1, 1, 48), "one winner, one reuse that revokes, the rest find it revoked");
    let mut live = 0;
    for i in 1..=50 {
        if let Some(t) = s.oidc_refresh_token(&format!("x{i}")).await.expect("read") {
            assert!(t.revoked_at.is_some(), "the winner's new token is revoked by the reuse that followed");
            live += 1;
        }
    }
    assert_eq!(live, 1, "exactly one new token was issued");

    // Expiry, unknown, explicit family revocation.
    s.insert_oidc_code(&code(&u, "code3", "fam3"), &ev("oidc.code.issued")).await.expect("insert");
    let y = refresh(&u, "y0", "fam3");
    s.consume_oidc_code("code3", Timestamp(T0 + 1), Some(&y), &ev("oidc.token.issued")).await.expect("consume");
    assert_eq!(rotate(&s, &u, "y0", "y1", T0 + 3_600_000).await, Rotation::Expired);
    assert_eq!(rotate(&s, &u, "zz", "y1", T0).await, Rotation::NotFound);
    assert_eq!(s.revoke_oidc_family("fam3", Timestamp(T0 + 5), &ev("oidc.refresh.revoked")).await.expect("revoke"), 1);
    assert_eq!(s.revoke_oidc_family("fam3", Timestamp(T0 + 6), &ev("oidc.refresh.revoked")).await.expect("revoke"), 0);
}

/// Rotates `id` into a new token `next` of the same family.
async fn rotate(s: &S, u: &User, id: &str, next: &str, now: i64) -> Rotation {
    let family = s.oidc_refresh_token(id).await.expect("read").map(|t| t.family_id).unwrap_or_default();
    let next = refresh(u, next, &family);
    s.rotate_oidc_refresh(id, &next, Timestamp(now), &ev("oidc.token.refreshed"), &ev("oidc.refresh.reused"))
        .await
        .expect("rotate")
}
