//! A stored row that a record cannot hold is `StoreError::Corrupt` naming the record and its
//! key, never a default: an environment that is not JSON, a login status that is none of
//! the known ones. The rows are spoiled behind the store's back, as a bad restore or a
//! hand edit would.

use sekimori_core::environment::Environment;
use sekimori_core::event::{NewEvent, Outcome};
use sekimori_core::{LoginId, TenantId, Timestamp, UserId};
use sekimori_store::sqlite::SqliteStore;
use sekimori_store::{LoginRequest, LoginStatus, LoginStore, StoreError, Tenant, TenantStore, User, UserStore};

const T0: i64 = 1_750_000_000_000;

fn ev() -> NewEvent {
    NewEvent::new(Timestamp(T0), "t1", "authentication", "test", Outcome::Success)
}

async fn store_with_login() -> (SqliteStore, std::path::PathBuf, LoginId) {
    let dir = tempfile::tempdir().expect("tempdir").keep();
    let path = dir.join("sekimori.db");
    let s = SqliteStore::open(&path).await.expect("open");
    s.ensure_tenant(&Tenant::with_defaults(TenantId::new("t1"), "default", Timestamp(T0))).await.expect("tenant");
    let user = User {
        id: UserId::new("u1"),
        tenant_id: TenantId::new("t1"),
        username: "alice".into(),
        email: None,
        display_name: None,
        disabled: false,
        created_at: Timestamp(T0),
        valid_from: None,
        valid_until: None,
        login_hours: None,
    };
    assert!(s.insert_user(&user, &ev()).await.expect("user"));
    let login = LoginRequest {
        id: LoginId::new("l1"),
        tenant_id: user.tenant_id.clone(),
        user_id: user.id.clone(),
        app_id: None,
        number: 42,
        environment: Environment::from_client(Some([192, 0, 2, 7].into()), Some("curl/8")),
        env_key: "k".into(),
        env_known: false,
        created_at: Timestamp(T0),
        expires_at: Timestamp(T0 + 60_000),
        status: LoginStatus::Pending,
        decided_at: None,
        device_id: None,
        assertion_jti: None,
    };
    s.insert_login(&login, &[], &ev()).await.expect("login");
    let read = s.login(&login.id).await.expect("read").expect("stored");
    assert_eq!(read.environment, login.environment, "the environment comes back as it went in");
    (s, path, login.id)
}

fn spoil(path: &std::path::Path, sql: &str) {
    let conn = rusqlite::Connection::open(path).expect("open behind the store's back");
    assert_eq!(conn.execute(sql, []).expect("spoil"), 1);
}

fn corrupt_message(r: Result<Option<LoginRequest>, StoreError>) -> String {
    match r {
        Err(StoreError::Corrupt(why)) => why,
        other => panic!("expected a corrupt-row error, got {other:?}"),
    }
}

#[tokio::test]
async fn an_environment_that_is_not_json_is_corrupt_not_empty() {
    let (s, path, id) = store_with_login().await;
    spoil(&path, "UPDATE login_requests SET environment = 'not json' WHERE id = 'l1'");
    let why = corrupt_message(s.login(&id).await);
    assert!(why.contains("LoginRequest id=l1") && why.contains("environment"), "{why}");
}

#[tokio::test]
async fn an_environment_missing_a_field_is_corrupt() {
    let (s, path, id) = store_with_login().await;
    spoil(&path, r#"UPDATE login_requests SET environment = '{"browser":"curl"}' WHERE id = 'l1'"#);
    let why = corrupt_message(s.login(&id).await);
    assert!(why.contains("LoginRequest id=l1") && why.contains("environment"), "{why}");
}

#[tokio::test]
async fn an_unknown_login_status_is_corrupt() {
    let (s, path, id) = store_with_login().await;
    spoil(&path, "UPDATE login_requests SET status = 'maybe' WHERE id = 'l1'");
    let why = corrupt_message(s.login(&id).await);
    assert!(why.contains("LoginRequest id=l1") && why.contains("maybe"), "{why}");
}
