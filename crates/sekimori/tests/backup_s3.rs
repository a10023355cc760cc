//! S3-compatible backup and archive destinations, against a real S3 server (moto, which
//! checks SigV4 signatures) and an independent client (boto3): the schedule in `serve`
//! writes each backup to a folder and a bucket, byte for byte the same; the bucket's copy,
//! fetched with boto3, restores; old backups in the bucket are pruned and other objects
//! left alone; a wrong secret is refused with S3's own error and leaves nothing behind;
//! audit archives go to the bucket and the chain verifies through them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

mod common;
use common::{free_port, start_with, terminate, BIN};

fn s3_tool() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/s3/s3.py")
}

fn python(args: &[&str]) -> String {
    let out = Command::new("python3").arg(s3_tool()).args(args).output().expect("python3 runs");
    assert!(out.status.success(), "s3.py {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

struct Moto(Child);

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A moto S3 server that authenticates every request after the setup's four.
async fn moto() -> (Moto, String) {
    let port = free_port();
    let child = Command::new("python3")
        .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
        .env("INITIAL_NO_AUTH_ACTION_COUNT", "4")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto (pip install -r tests/s3/requirements.txt)");
    let server = Moto(child);
    for _ in 0..300 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (server, format!("http://127.0.0.1:{port}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("moto did not listen within 30 s");
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).env_remove("SEKIMORI_CONFIG").output().expect("run sekimori")
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

fn config(dir: &Path, url: &str, key_id: &str, secret_file: &Path, local: &Path, bucket_prefix: &str) -> PathBuf {
    let cfg = dir.join(format!("sekimori-{bucket_prefix}.toml"));
    let text = format!(
        "[backup]\ndestinations = [{local:?}, \"s3://backups/{bucket_prefix}\"]\nkey_file = {key:?}\n\
         [backup.s3]\nendpoint = {url:?}\naccess_key_id = {key_id:?}\nsecret_access_key_file = {secret_file:?}\n",
        local = p(local),
        key = p(&dir.join("backup.key")),
    );
    std::fs::write(&cfg, text).expect("config");
    cfg
}

fn listed(url: &str, key: &str, secret: &str, prefix: &str) -> Vec<String> {
    python(&["list", url, key, secret, prefix]).lines().map(str::to_owned).collect()
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_and_archives_go_to_s3_and_come_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_moto, url) = moto().await;
    let creds = python(&["setup", &url]);
    let (key_id, secret) = creds.trim().split_once(' ').expect("KEY SECRET");
    let secret_file = dir.path().join("s3.secret");
    std::fs::write(&secret_file, format!("{secret}\n")).expect("secret");
    let (data, local) = (dir.path().join("data"), dir.path().join("local"));
    assert!(run(&["backup-key", p(&dir.path().join("backup.key"))]).status.success());

    // Old backups already in the bucket (by name), and an object that is not a backup.
    let filler = dir.path().join("filler");
    std::fs::write(&filler, b"old").expect("filler");
    for name in ["prod/sekimori-20200101T000000000Z.skbk", "prod/sekimori-20200102T000000000Z.skbk", "prod/notes.txt"] {
        python(&["put", &url, key_id, secret, name, p(&filler)]);
    }

    // The schedule takes a backup at start (there is none yet in the folder).
    let cfg = config(dir.path(), &url, key_id, &secret_file, &local, "prod");
    let mut server = start_with(&data, &["--config", p(&cfg)], &[]).await;
    let token = server.token.clone();
    let mut found = Vec::new();
    for _ in 0..300 {
        found = std::fs::read_dir(&local)
            .map(|d| {
                d.filter_map(|e| e.ok()?.file_name().into_string().ok()).filter(|n| n.ends_with(".skbk")).collect()
            })
            .unwrap_or_default();
        if !found.is_empty()
            && listed(&url, key_id, secret, "prod/").iter().any(|k| k.ends_with(".skbk") && !k.contains("2020"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(found.len(), 1, "one backup in the folder: {found:?}");
    let name = &found[0];
    let in_bucket = listed(&url, key_id, secret, "prod/");
    assert!(in_bucket.contains(&format!("prod/{name}")), "{in_bucket:?}");
    assert!(in_bucket.contains(&"prod/notes.txt".to_owned()), "other objects are left alone: {in_bucket:?}");
    assert!(!in_bucket.iter().any(|k| k.contains("2020")), "backups past the retention are pruned: {in_bucket:?}");

    // The bucket's copy, fetched by another client, is the folder's byte for byte and restores.
    let fetched = dir.path().join("fetched.skbk");
    python(&["get", &url, key_id, secret, &format!("prod/{name}"), p(&fetched)]);
    assert_eq!(std::fs::read(&fetched).expect("fetched"), std::fs::read(local.join(name)).expect("local"));
    let restored = dir.path().join("restored");
    let out =
        run(&["restore", p(&fetched), "--data-dir", p(&restored), "--key-file", p(&dir.path().join("backup.key"))]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("audit log intact"), "{}", text(&out));

    // A wrong secret: S3's own error, and nothing stored.
    let bad_secret = dir.path().join("bad.secret");
    std::fs::write(&bad_secret, "not-the-secret\n").expect("secret");
    let bad = config(dir.path(), &url, key_id, &bad_secret, &dir.path().join("local-bad"), "bad");
    let out = Command::new(BIN)
        .args(["backup", "--config", p(&bad), "--data-dir", p(&data)])
        .env_remove("SEKIMORI_CONFIG")
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(text(&out).contains("SignatureDoesNotMatch"), "{}", text(&out));
    assert!(listed(&url, key_id, secret, "bad/").is_empty());

    // Audit archives to the bucket: a stop checkpoints the head, the log grows past it.
    let user = |server: &common::Server, name: &str| {
        let out = Command::new(BIN)
            .args(["user", "add", name])
            .env("SEKIMORI_URL", &server.url)
            .env("SEKIMORI_TOKEN", &token)
            .output()
            .expect("run");
        assert!(out.status.success(), "{}", text(&out));
    };
    user(&server, "alice");
    terminate(&mut server).await;
    let mut server = start_with(&data, &["--config", p(&cfg)], &[]).await;
    user(&server, "bob");
    let mut archived = String::new();
    for _ in 0..50 {
        let out = Command::new(BIN)
            .args(["audit", "archive", "--older-than-days", "0", "--to", "s3://backups/archives"])
            .args(["--config", p(&cfg), "--data-dir", p(&data)])
            .env_remove("SEKIMORI_CONFIG")
            .output()
            .expect("run");
        archived = text(&out);
        assert!(out.status.success(), "{archived}");
        if archived.contains("archived audit rows") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await; // until the follower has read the sealed rows
    }
    assert!(archived.contains("s3://backups/archives/sekimori-audit-000000000001-"), "{archived}");
    terminate(&mut server).await;
    let out = Command::new(BIN)
        .args(["audit", "verify", "--archives", "s3://backups/archives", "--config", p(&cfg), "--data-dir", p(&data)])
        .env_remove("SEKIMORI_CONFIG")
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("archived rows verified in 1 archives"), "{}", text(&out));
    assert_eq!(listed(&url, key_id, secret, "archives/").len(), 1);
}
