//! Audit archives through the front door, with the built binary: `sekimori audit archive`
//! moves checkpointed rows out of the live table into encrypted archives in two folders
//! while the server writes; `audit verify` still verifies the live log from its signed
//! base, and with `--archives` walks the whole chain from the first row; a missing,
//! damaged or repeated archive and a forged base are caught; a restore refuses an archive.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

mod common;
use common::{start, start_with_env, terminate, Server, BIN};

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).env_remove("SEKIMORI_CONFIG").output().expect("run sekimori")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}", text(out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn add_user(server: &Server, token: &str, name: &str) {
    let out = Command::new(BIN)
        .args(["user", "add", name])
        .env("SEKIMORI_URL", &server.url)
        .env("SEKIMORI_TOKEN", token)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", text(&out));
}

/// The database a test's server uses: the embedded file, or a schema on PostgreSQL.
enum Db<'a> {
    Sqlite(&'a Path),
    Postgres(&'a str),
}

fn scalar(db: &Db<'_>, sql: &str) -> i64 {
    match db {
        Db::Sqlite(path) => {
            let conn = rusqlite::Connection::open(path).expect("db");
            conn.busy_timeout(Duration::from_secs(10)).expect("busy");
            conn.query_row(sql, [], |r| r.get(0)).expect("query")
        }
        Db::Postgres(schema) => {
            let out = common::psql(&format!("SET search_path = {schema}; {sql}"));
            out.lines().last().unwrap_or("").trim().parse().unwrap_or_else(|_| panic!("not a number: {out}"))
        }
    }
}

/// Waits until the detection follower has read the whole log (it runs every second).
async fn followed(db: &Db<'_>) {
    for _ in 0..300 {
        let head = scalar(db, "SELECT MAX(seq) FROM audit_events");
        if scalar(db, "SELECT COALESCE((SELECT seq FROM watch_cursors WHERE name = 'audit'), 0)") >= head {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the audit follower did not catch up within 30 s");
}

fn verify(data: &Path, archives: Option<(&Path, &Path)>) -> (i32, String) {
    verify_with(data, archives, &[])
}

fn verify_with(data: &Path, archives: Option<(&Path, &Path)>, env: &[(&str, &str)]) -> (i32, String) {
    let mut args = vec!["audit", "verify", "--data-dir", p(data)];
    if let Some((dir, key)) = archives {
        args.extend(["--archives", p(dir), "--key-file", p(key)]);
    }
    let out =
        Command::new(BIN).args(&args).env_remove("SEKIMORI_CONFIG").envs(env.iter().copied()).output().expect("run");
    (out.status.code().unwrap_or(-1), text(&out))
}

fn archive(data: &Path, key: &Path, dests: &[&Path]) -> String {
    archive_with(data, key, dests, &[])
}

fn archive_with(data: &Path, key: &Path, dests: &[&Path], env: &[(&str, &str)]) -> String {
    let mut args = vec!["audit", "archive", "--older-than-days", "0", "--data-dir", p(data), "--key-file", p(key)];
    for d in dests {
        args.extend(["--to", p(d)]);
    }
    ok(&Command::new(BIN).args(&args).env_remove("SEKIMORI_CONFIG").envs(env.iter().copied()).output().expect("run"))
}

fn archives_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".skar"))
        .collect();
    names.sort();
    names
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archived_rows_leave_the_live_log_and_the_chain_verifies_through_the_archives() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (data, key, a, b) =
        (dir.path().join("data"), dir.path().join("backup.key"), dir.path().join("a"), dir.path().join("b"));
    let db_file = data.join("sekimori.db");
    let db = Db::Sqlite(&db_file);
    ok(&run(&["backup-key", p(&key)]));

    // First run: users, then a stop, which checkpoints the head.
    let mut server = start(&data).await;
    let token = server.token.clone();
    for name in ["alice", "bob"] {
        add_user(&server, &token, name);
    }
    followed(&db).await;
    terminate(&mut server).await;
    let sealed = scalar(&db, "SELECT MAX(seq) FROM audit_events");

    // Second run: the log grows past the checkpoint; the archive runs while it is served.
    let mut server = start(&data).await;
    add_user(&server, &token, "carol");
    followed(&db).await;
    let out = archive(&data, &key, &[&a, &b]);
    assert!(out.contains(&format!("archived audit rows 1 to {sealed}: {sealed} rows deleted")), "{out}");
    assert_eq!(archives_in(&a), archives_in(&b));
    assert_eq!(archives_in(&a).len(), 1);
    assert_eq!(scalar(&db, "SELECT MIN(seq) FROM audit_events"), sealed + 1);
    add_user(&server, &token, "dave");
    let archived_event = scalar(&db, "SELECT COUNT(*) FROM audit_events WHERE action = 'audit.archived'");
    assert_eq!(archived_event, 1, "the archive is itself an audit event");
    followed(&db).await;
    terminate(&mut server).await;

    let (code, out) = verify(&data, None);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("rows 1 to {sealed} are archived")), "{out}");
    let (code, out) = verify(&data, Some((&a, &key)));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("{sealed} archived rows verified in 1 archives")), "{out}");
    assert!(out.contains("matches the signed checkpoint"), "{out}");

    // A third run, so a second segment is sealed; the chain runs through both archives.
    let sealed2 = scalar(&db, "SELECT MAX(seq) FROM audit_events");
    let mut server = start(&data).await;
    add_user(&server, &token, "erin");
    followed(&db).await;
    let out = archive(&data, &key, &[&a, &b]);
    assert!(out.contains(&format!("archived audit rows {} to {sealed2}", sealed + 1)), "{out}");
    terminate(&mut server).await;
    assert_eq!(archives_in(&a).len(), 2);
    let (code, out) = verify(&data, Some((&b, &key)));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("{sealed2} archived rows verified in 2 archives")), "{out}");

    // A missing first archive: the chain does not start at row 1.
    let missing = dir.path().join("missing");
    std::fs::create_dir_all(&missing).expect("mkdir");
    let second = archives_in(&a)[1].clone();
    std::fs::copy(a.join(&second), missing.join(&second)).expect("copy");
    let (code, out) = verify(&data, Some((&missing, &key)));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("BROKEN") && out.contains("an archive is missing"), "{out}");

    // Only the first archive: the archives stop short of the live log.
    let short = dir.path().join("short");
    std::fs::create_dir_all(&short).expect("mkdir");
    let first = archives_in(&a)[0].clone();
    std::fs::copy(a.join(&first), short.join(&first)).expect("copy");
    let (code, out) = verify(&data, Some((&short, &key)));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("INCOMPLETE") && out.contains(&format!("end at row {sealed}")), "{out}");

    // A damaged archive.
    let damaged = dir.path().join("damaged");
    std::fs::create_dir_all(&damaged).expect("mkdir");
    for n in archives_in(&a) {
        std::fs::copy(a.join(&n), damaged.join(&n)).expect("copy");
    }
    let victim = damaged.join(&archives_in(&a)[0]);
    let mut bytes = std::fs::read(&victim).expect("read");
    let at = bytes.len() - 100;
    bytes[at] ^= 1;
    std::fs::write(&victim, bytes).expect("write");
    let (code, out) = verify(&data, Some((&damaged, &key)));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("corrupt"), "{out}");

    // A forged base (rows deleted by hand and the base moved over them) is not signed.
    let forged = dir.path().join("forged");
    std::fs::create_dir_all(forged.join("keys")).expect("mkdir");
    for f in ["sekimori.db", "keys/server.json", "audit-checkpoints.jsonl"] {
        std::fs::copy(data.join(f), forged.join(f)).expect("copy");
    }
    let conn = rusqlite::Connection::open(forged.join("sekimori.db")).expect("db");
    let next = sealed2 + 2;
    conn.execute("DELETE FROM audit_events WHERE seq < ?1", [next]).expect("delete");
    conn.execute(
        "UPDATE audit_base SET seq = ?1 - 1, hash = (SELECT prev_hash FROM audit_events WHERE seq = ?1)",
        [next],
    )
    .expect("move base");
    drop(conn);
    let (code, out) = verify(&forged, None);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FORGED") && out.contains("not signed"), "{out}");

    // An archive is not a database backup.
    let out = run(&["restore", p(&a.join(&first)), "--data-dir", p(&dir.path().join("r")), "--key-file", p(&key)]);
    assert!(!out.status.success());
    assert!(text(&out).contains("an audit archive, not a database backup"), "{}", text(&out));
}

/// The same on PostgreSQL: the archive's delete, base and event are one transaction there
/// too, and the chain verifies through the archive.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archiving_works_the_same_on_postgresql() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (data, key, a) = (dir.path().join("data"), dir.path().join("backup.key"), dir.path().join("a"));
    let (schema, url) = common::fresh_schema("t_archive");
    let env = [("SEKIMORI_STORAGE__DATABASE_URL", url.as_str())];
    let db = Db::Postgres(&schema);
    ok(&run(&["backup-key", p(&key)]));

    let mut server = start_with_env(&data, &env).await;
    let token = server.token.clone();
    add_user(&server, &token, "alice");
    followed(&db).await;
    terminate(&mut server).await;
    let sealed = scalar(&db, "SELECT MAX(seq) FROM audit_events");
    let mut server = start_with_env(&data, &env).await;
    add_user(&server, &token, "bob");
    followed(&db).await;
    let out = archive_with(&data, &key, &[&a], &env);
    assert!(out.contains(&format!("archived audit rows 1 to {sealed}")), "{out}");
    assert_eq!(scalar(&db, "SELECT MIN(seq) FROM audit_events"), sealed + 1);
    add_user(&server, &token, "carol");
    terminate(&mut server).await;
    let (code, out) = verify_with(&data, Some((&a, &key)), &env);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("{sealed} archived rows verified in 1 archives")), "{out}");
    common::psql(&format!("DROP SCHEMA {schema} CASCADE"));
}
