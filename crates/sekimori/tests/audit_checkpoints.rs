//! The audit chain anchored by signed checkpoints, against the built binary: the two
//! attacks the chain alone cannot show are caught by `audit verify` — rows deleted from
//! the end, and a row changed with every later hash recomputed by the documented formula —
//! and so is a forged checkpoint.

use std::path::Path;
use std::process::Command;

use sha2::{Digest, Sha256};

mod common;
use common::{start, terminate, BIN};

fn verify(data: &Path) -> (i32, String) {
    let out = Command::new(BIN)
        .args(["audit", "verify", "--data-dir"])
        .arg(data)
        .env_remove("SEKIMORI_CONFIG")
        .output()
        .expect("run");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A copy of the data directory to tamper with.
fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join("keys")).expect("mkdir");
    for f in ["sekimori.db", "keys/server.json", "audit-checkpoints.jsonl"] {
        std::fs::copy(from.join(f), to.join(f)).expect("copy");
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncation_rewrites_and_forged_checkpoints_are_caught() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut server = start(&data).await;
    for name in ["alice", "bob", "carol", "dave"] {
        let out = Command::new(BIN)
            .args(["user", "add", name])
            .env("SEKIMORI_URL", &server.url)
            .env("SEKIMORI_TOKEN", &server.token)
            .output()
            .expect("run");
        assert!(out.status.success());
    }
    // A clean stop writes a last checkpoint of the head.
    terminate(&mut server).await;
    let (code, text) = verify(&data);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("matches the signed checkpoint"), "{text}");

    // Rows deleted from the end: the chain that is left verifies, the checkpoint does not.
    let cut = dir.path().join("cut");
    copy(&data, &cut);
    let db = rusqlite::Connection::open(cut.join("sekimori.db")).expect("db");
    let last: i64 = db.query_row("SELECT MAX(seq) FROM audit_events", [], |r| r.get(0)).expect("max");
    db.execute("DELETE FROM audit_events WHERE seq > ?1", [last - 2]).expect("delete");
    drop(db);
    let (code, text) = verify(&cut);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("TRUNCATED") && text.contains(&format!("names row {last}")), "{text}");

    // A row changed, and every later hash recomputed with the documented formula
    // (sha256(prev_hash || doc)): the chain verifies, the checkpoint does not.
    let rewritten = dir.path().join("rewritten");
    copy(&data, &rewritten);
    let db = rusqlite::Connection::open(rewritten.join("sekimori.db")).expect("db");
    let bob: i64 = db
        .query_row(
            "SELECT seq FROM audit_events WHERE doc LIKE '%\"name\":\"bob\"%' AND action = 'iam.user.created'",
            [],
            |r| r.get(0),
        )
        .expect("bob");
    let rows: Vec<(i64, String, Vec<u8>)> = {
        let mut st =
            db.prepare("SELECT seq, doc, prev_hash FROM audit_events WHERE seq >= ?1 ORDER BY seq").expect("prepare");
        st.query_map([bob], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).expect("rows").map(|r| r.expect("row")).collect()
    };
    let mut prev = rows[0].2.clone();
    for (seq, doc, _) in rows {
        let doc = if seq == bob { doc.replace("\"bob\"", "\"eve\"") } else { doc };
        let mut h = Sha256::new();
        h.update(&prev);
        h.update(doc.as_bytes());
        let hash = h.finalize().to_vec();
        db.execute(
            "UPDATE audit_events SET doc = ?1, prev_hash = ?2, hash = ?3 WHERE seq = ?4",
            rusqlite::params![doc, prev, hash, seq],
        )
        .expect("rewrite");
        prev = hash;
    }
    drop(db);
    let (code, text) = verify(&rewritten);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("REWRITTEN"), "{text}");

    // A checkpoint line not signed by the server key.
    let forged = dir.path().join("forged");
    copy(&data, &forged);
    let file = forged.join("audit-checkpoints.jsonl");
    let mut lines = std::fs::read_to_string(&file).expect("read");
    let last_line = lines.lines().last().expect("a checkpoint").to_owned();
    let mut cp: serde_json::Value = serde_json::from_str(&last_line).expect("json");
    cp["seq"] = serde_json::json!(cp["seq"].as_i64().expect("seq") - 1);
    lines.push_str(&format!("{cp}\n"));
    std::fs::write(&file, lines).expect("write");
    let (code, text) = verify(&forged);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("FORGED"), "{text}");
}
