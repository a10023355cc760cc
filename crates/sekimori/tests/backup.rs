//! Backups through the front door, with the built binary: `sekimori backup` while the
//! server is writing, `sekimori restore` into a fresh directory, and a server started on
//! the restored data with everything written before the backup and an intact audit chain;
//! a changed, cut or foreign backup refused; the schedule in `serve` writing to two
//! destinations.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

mod common;
use common::{start, start_with_env, BIN};

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).env_remove("SEKIMORI_CONFIG").output().expect("run sekimori")
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

async fn users(url: &str, token: &str) -> Vec<String> {
    let body: serde_json::Value = reqwest::Client::new()
        .get(format!("{url}/api/v1/admin/users"))
        .bearer_auth(token)
        .send()
        .await
        .expect("users")
        .json()
        .await
        .expect("json");
    body.as_array().expect("list").iter().map(|u| u["username"].as_str().expect("name").to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_write_load_restores_with_everything_before_it_and_an_intact_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (data, key, dest_a, dest_b) =
        (dir.path().join("data"), dir.path().join("backup.key"), dir.path().join("a"), dir.path().join("b"));
    ok(&run(&["backup-key", p(&key)]));
    assert!(!run(&["backup-key", p(&key)]).status.success(), "an existing key is never overwritten");
    let server = start(&data).await;

    // A writer adds users without pause while the backup runs.
    let written = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicU64::new(0));
    let writer = {
        let (url, token, written, stop) = (server.url.clone(), server.token.clone(), written.clone(), stop.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut i = 0u64;
            while stop.load(Ordering::Relaxed) == 0 {
                let r = http
                    .post(format!("{url}/api/v1/admin/users"))
                    .bearer_auth(&token)
                    .json(&serde_json::json!({"username": format!("user{i}")}))
                    .send()
                    .await
                    .expect("send");
                assert_eq!(r.status(), 201);
                i += 1;
                written.store(i, Ordering::Relaxed);
            }
        })
    };
    while written.load(Ordering::Relaxed) < 50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = written.load(Ordering::Relaxed);
    let out = tokio::task::spawn_blocking({
        let (data, key, a, b) = (data.clone(), key.clone(), dest_a.clone(), dest_b.clone());
        move || run(&["backup", "--data-dir", p(&data), "--key-file", p(&key), "--to", p(&a), "--to", p(&b)])
    })
    .await
    .expect("join");
    let printed = ok(&out);
    let during = written.load(Ordering::Relaxed);
    stop.store(1, Ordering::Relaxed);
    writer.await.expect("writer");
    assert!(during > before, "the server was written to while the backup ran ({before} -> {during})");
    assert!(printed.contains("backup checked"), "{printed}");
    let file = printed.lines().next().expect("the first backup file").to_owned();
    assert!(file.starts_with(p(&dest_a)) && file.ends_with(".skbk"), "{file}");
    let in_b: Vec<_> = std::fs::read_dir(&dest_b).expect("b").flatten().collect();
    assert_eq!(in_b.len(), 1, "both destinations hold the backup");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).expect("file").permissions().mode() & 0o777, 0o600);
    }
    drop(server);

    // Restore into a fresh directory and start a server on it.
    let restored = dir.path().join("restored");
    let out = ok(&run(&["restore", &file, "--data-dir", p(&restored), "--key-file", p(&key)]));
    assert!(out.contains("audit log intact"), "{out}");
    let again = run(&["restore", &file, "--data-dir", p(&restored), "--key-file", p(&key)]);
    assert!(!again.status.success(), "a data directory that holds a database is never overwritten");
    ok(&run(&["audit", "verify", "--data-dir", p(&restored)]));
    let server = start(&restored).await;
    let token = ok(&run(&["admin-token", "--data-dir", p(&restored)])).trim().to_owned();
    let names = users(&server.url, &token).await;
    for i in 0..before {
        assert!(names.contains(&format!("user{i}")), "user{i}, written before the backup began, is restored");
    }
    assert!(names.len() as u64 <= during, "nothing that did not exist is restored");
    drop(server);

    // A changed byte, a cut file and another key are refused, and leave nothing behind.
    let good = std::fs::read(&file).expect("read");
    let mut bad = good.clone();
    let at = bad.len() / 2;
    bad[at] ^= 0x40;
    let changed = dir.path().join("changed.skbk");
    std::fs::write(&changed, &bad).expect("write");
    let cut = dir.path().join("cut.skbk");
    std::fs::write(&cut, &good[..good.len() - 10]).expect("write");
    let other_key = dir.path().join("other.key");
    ok(&run(&["backup-key", p(&other_key)]));
    for (f, k, why) in [
        (&changed, &key, "corrupt"),
        (&cut, &key, "corrupt"),
        (&std::path::PathBuf::from(&file), &other_key, "another backup key"),
    ] {
        let target = dir.path().join(format!("t-{}", why.len()));
        let out = run(&["restore", p(f), "--data-dir", p(&target), "--key-file", p(k)]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(why), "{err}");
        assert!(!target.join("sekimori.db").exists(), "nothing is left behind");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_backs_up_to_two_destinations_on_its_schedule() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("backup.key");
    ok(&run(&["backup-key", p(&key)]));
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let dests = format!("{}:{}", p(&a), p(&b));
    let env = [("SEKIMORI_BACKUP__DESTINATIONS", dests.as_str()), ("SEKIMORI_BACKUP__KEY_FILE", p(&key))];
    let server = start_with_env(&dir.path().join("data"), &env).await;
    let count = |d: &Path| {
        std::fs::read_dir(d)
            .map(|r| r.flatten().filter(|e| e.path().extension().is_some_and(|x| x == "skbk")).count())
            .unwrap_or(0)
    };
    let mut written = false;
    for _ in 0..300 {
        if count(&a) == 1 && count(&b) == 1 {
            written = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(written, "the first scheduled backup is written to both destinations at start");
    drop(server);
    let file = std::fs::read_dir(&b).expect("b").flatten().next().expect("a backup").path();
    let out = ok(&run(&["restore", p(&file), "--data-dir", p(&dir.path().join("r")), "--key-file", p(&key)]));
    assert!(out.contains("audit log intact"), "{out}");
}
