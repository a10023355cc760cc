//! Backups of the embedded store: `sekimori backup`, the schedule in `serve`
//! (`[backup]`), retention, and `sekimori restore`.
//!
//! A backup is an online, consistent snapshot of the SQLite database (`VACUUM INTO`, never
//! a copy of the live files, which in WAL mode may be mid-transaction) and the server key
//! file, encrypted under the operator's backup key ([`container`]). Each backup is written
//! to every destination as `sekimori-<UTC time>.skbk`, then opened again as a restore
//! would (every chunk authenticated, checksums, SQLite's `integrity_check`, the audit
//! chain verified) before it takes its final name. Backups older than `keep_days` are
//! deleted from each destination; the newest one is always kept.

pub mod archive;
pub mod container;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use sekimori_core::{Clock, OsRng, SystemClock, Timestamp};
use serde::Deserialize;

use self::container::BackupKey;

/// `[backup]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupConfig {
    /// Folders the scheduled backups are written to (each gets every backup); empty: no
    /// scheduled backups.
    pub destinations: Vec<PathBuf>,
    /// The backup key file (64 hex digits; `sekimori backup-key FILE` makes one). Keep it
    /// away from the data directory and the destinations.
    pub key_file: Option<PathBuf>,
    /// Minutes between scheduled backups (1 to 10080).
    pub interval_minutes: u64,
    /// Days a backup is kept in each destination (1 to 3650); the newest is always kept.
    pub keep_days: u64,
}

impl Default for BackupConfig {
    fn default() -> Self {
        BackupConfig { destinations: Vec::new(), key_file: None, interval_minutes: 24 * 60, keep_days: 14 }
    }
}

impl BackupConfig {
    /// What is wrong, as (key, reason).
    pub fn validate(&self, postgres: bool) -> Result<(), (&'static str, String)> {
        if !(1..=10_080).contains(&self.interval_minutes) {
            return Err((
                "backup.interval_minutes",
                format!("must be between 1 and 10080, got {}", self.interval_minutes),
            ));
        }
        if !(1..=3650).contains(&self.keep_days) {
            return Err(("backup.keep_days", format!("must be between 1 and 3650, got {}", self.keep_days)));
        }
        if !self.destinations.is_empty() {
            if postgres {
                return Err((
                    "backup.destinations",
                    "scheduled backups are for the embedded store; back PostgreSQL up with pg_dump (docs/operations.md)"
                        .into(),
                ));
            }
            match &self.key_file {
                None => return Err(("backup.key_file", "required when backup.destinations is set".into())),
                Some(k) if !k.exists() => {
                    return Err((
                        "backup.key_file",
                        format!("{} does not exist (sekimori backup-key FILE makes one)", k.display()),
                    ))
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

/// What one backup run wrote.
#[derive(Debug)]
pub struct Written {
    /// The backup files, one per destination.
    pub files: Vec<PathBuf>,
    /// Rows in the audit log of the snapshot (all verified).
    pub audit_rows: u64,
    /// Old backups deleted.
    pub pruned: usize,
}

fn file_name(now: Timestamp) -> String {
    // 2026-12-06T03:41:27.123Z -> sekimori-20261206T034127123Z.skbk
    let t: String = now.to_rfc3339().chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    format!("sekimori-{t}.skbk")
}

pub(crate) fn private_dir(path: &Path) -> anyhow::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(path).with_context(|| format!("cannot create {}", path.display()))
}

/// A scratch folder (0700) removed on drop.
pub(crate) struct Scratch(pub(crate) PathBuf);

impl Scratch {
    pub(crate) fn new(near: &Path) -> anyhow::Result<Self> {
        let mut tag = [0u8; 8];
        sekimori_core::Rng::fill(&OsRng, &mut tag);
        let p = near.join(format!(".sekimori-scratch-{}", hex::encode(tag)));
        private_dir(&p)?;
        Ok(Scratch(p))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Checks a restored database: SQLite's integrity check, then the audit chain; the rows
/// verified.
async fn check_database(db: &Path) -> anyhow::Result<u64> {
    {
        let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let verdict: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        if verdict != "ok" {
            bail!("{}: SQLite integrity check: {verdict}", db.display());
        }
    }
    let store =
        sekimori_store::sqlite::SqliteStore::open(db).await.with_context(|| format!("cannot open {}", db.display()))?;
    let report = sekimori_gate::audit::verify_chain(&store).await?;
    if let Some(b) = report.first_broken {
        bail!("{}: the audit chain is broken at row {}: {}", db.display(), b.seq, b.reason);
    }
    Ok(report.rows_checked)
}

/// Takes one backup of the store in `data_dir` (with `keys_file`) into every destination.
pub async fn backup(
    data_dir: &Path,
    keys_file: &Path,
    destinations: &[PathBuf],
    key: &BackupKey,
    keep_days: u64,
) -> anyhow::Result<Written> {
    let first = destinations.first().context("no backup destination")?;
    for d in destinations {
        private_dir(d)?;
        sweep(d);
    }
    let now = SystemClock.now();
    let scratch = Scratch::new(first)?;
    let snapshot = scratch.0.join("sekimori.db");
    let db = data_dir.join("sekimori.db");
    if !db.exists() {
        bail!("{}: no database to back up", db.display());
    }
    let (from, to) = (db.clone(), snapshot.clone());
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let conn = rusqlite::Connection::open_with_flags(&from, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.busy_timeout(Duration::from_secs(30))?;
        // One read transaction: a consistent snapshot while the server goes on writing.
        conn.execute("VACUUM INTO ?1", [to.display().to_string()])?;
        Ok(())
    })
    .await??;
    let audit_rows = check_database(&snapshot).await.context("the snapshot does not check")?;
    let name = file_name(now);
    let mut files = Vec::new();
    for dest in destinations {
        let partial = dest.join(format!("{name}.partial"));
        let _ = std::fs::remove_file(&partial);
        container::write(
            &partial,
            key,
            container::KIND_DATABASE,
            &now.to_rfc3339(),
            &[("sekimori.db", &snapshot), ("keys/server.json", keys_file)],
            &OsRng,
        )?;
        // Opened as a restore would, before it counts as a backup.
        let trial = Scratch::new(dest)?;
        container::extract(&partial, key, &trial.0)?;
        check_database(&trial.0.join("sekimori.db"))
            .await
            .with_context(|| format!("{}: trial restore", partial.display()))?;
        let done = dest.join(&name);
        std::fs::rename(&partial, &done).with_context(|| format!("cannot name {}", done.display()))?;
        files.push(done);
    }
    let mut pruned = 0;
    for dest in destinations {
        pruned += prune(dest, now, keep_days)?;
    }
    Ok(Written { files, audit_rows, pruned })
}

/// Removes what an interrupted run left in `dest` (a `.partial` file, a scratch folder)
/// once it is an hour old, so a run in progress elsewhere is left alone.
pub(crate) fn sweep(dest: &Path) {
    let Ok(dir) = std::fs::read_dir(dest) else { return };
    for entry in dir.flatten() {
        let p = entry.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let leftover = name.ends_with(".skbk.partial")
            || name.ends_with(".skar.partial")
            || name.starts_with(".sekimori-scratch-");
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|age| age > Duration::from_secs(3600));
        if leftover && old {
            let _ = if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
            tracing::info!(path = %p.display(), "removed what an interrupted backup left");
        }
    }
}

/// The backups in `dest`, newest first: (when taken, file).
fn backups_in(dest: &Path) -> anyhow::Result<Vec<(Timestamp, PathBuf)>> {
    let mut found = Vec::new();
    let Ok(dir) = std::fs::read_dir(dest) else { return Ok(found) };
    for entry in dir {
        let p = entry?.path();
        let is_backup =
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("sekimori-") && n.ends_with(".skbk"));
        if !is_backup {
            continue;
        }
        match container::header(&p) {
            Ok((h, _, _)) if h.backend != container::KIND_DATABASE => {}
            Ok((h, _, _)) => match Timestamp::parse(&h.created_at) {
                Some(t) => found.push((t, p)),
                None => tracing::warn!(file = %p.display(), "backup with an unreadable date left alone"),
            },
            Err(e) => tracing::warn!(error = %e, "not a backup; left alone"),
        }
    }
    found.sort_by_key(|b| std::cmp::Reverse(b.0));
    Ok(found)
}

/// Deletes the backups in `dest` older than `keep_days`, never the newest.
fn prune(dest: &Path, now: Timestamp, keep_days: u64) -> anyhow::Result<usize> {
    let keep_ms = i64::try_from(keep_days).unwrap_or(i64::MAX).saturating_mul(86_400_000);
    let mut n = 0;
    for (t, p) in backups_in(dest)?.into_iter().skip(1) {
        if now.millis() - t.millis() > keep_ms {
            std::fs::remove_file(&p).with_context(|| format!("cannot delete {}", p.display()))?;
            n += 1;
        }
    }
    Ok(n)
}

/// Restores `file` into `data_dir` (which must hold no database yet), then verifies the
/// audit chain; on any failure nothing is left in `data_dir`.
pub async fn restore(file: &Path, key: &BackupKey, data_dir: &Path) -> anyhow::Result<u64> {
    let db = data_dir.join("sekimori.db");
    if db.exists() || data_dir.join("keys/server.json").exists() {
        bail!("{}: already holds a database or key file; restore into an empty data directory", data_dir.display());
    }
    let (found, _, _) = container::header(file)?;
    if found.backend != container::KIND_DATABASE {
        bail!(
            "{}: an audit archive, not a database backup (check it with sekimori audit verify --archives)",
            file.display()
        );
    }
    private_dir(data_dir)?;
    let header = container::extract(file, key, data_dir)?;
    match check_database(&db).await {
        Ok(rows) => {
            tracing::info!(file = %file.display(), taken = %header.created_at, rows, "restored");
            Ok(rows)
        }
        Err(e) => {
            for name in ["sekimori.db", "sekimori.db-wal", "sekimori.db-shm", "keys/server.json"] {
                let _ = std::fs::remove_file(data_dir.join(name));
            }
            Err(e.context(format!("{}: the restored database does not check; nothing restored", file.display())))
        }
    }
}

/// The schedule in `serve`: a backup at start when the newest is older than the interval
/// (or there is none), then one every interval. Failures are logged and retried at the
/// next interval.
pub async fn schedule(cfg: BackupConfig, data_dir: PathBuf, keys_file: PathBuf) {
    let Some(key_file) = cfg.key_file.clone() else { return };
    let interval = Duration::from_secs(cfg.interval_minutes * 60);
    loop {
        let now = SystemClock.now();
        let newest = cfg.destinations.iter().filter_map(|d| backups_in(d).ok()?.first().map(|b| b.0)).min();
        let due_in = match newest {
            Some(t) => {
                interval.saturating_sub(Duration::from_millis(u64::try_from(now.millis() - t.millis()).unwrap_or(0)))
            }
            None => Duration::ZERO,
        };
        tokio::time::sleep(due_in).await;
        let result = async {
            let key = BackupKey::load(&key_file)?;
            backup(&data_dir, &keys_file, &cfg.destinations, &key, cfg.keep_days).await
        }
        .await;
        match result {
            Ok(w) => {
                tracing::info!(files = ?w.files, audit_rows = w.audit_rows, pruned = w.pruned, "backup written and checked")
            }
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "backup failed; retrying at the next interval");
                tokio::time::sleep(interval).await;
            }
        }
    }
}

/// Starts [`schedule`] when backups are configured.
pub fn start(cfg: &crate::config::Config) -> Option<tokio::task::JoinHandle<()>> {
    if cfg.backup.destinations.is_empty() || cfg.storage.database_url.is_some() {
        if cfg.storage.database_url.is_none() {
            tracing::warn!("no [backup] destinations: the embedded store is not backed up (docs/operations.md)");
        }
        return None;
    }
    if cfg.backup.destinations.len() < 2 {
        tracing::warn!("one backup destination: keep backups in two places (a second disk, another host)");
    }
    Some(tokio::spawn(schedule(cfg.backup.clone(), cfg.storage.data_dir.clone(), cfg.keys_file())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backups_past_the_retention_are_deleted_but_never_the_newest() {
        let dir = tempfile::tempdir().expect("dir");
        let key = BackupKey::create(&dir.path().join("key"), &OsRng).expect("key");
        let payload = dir.path().join("payload");
        std::fs::write(&payload, b"x").expect("write");
        let dest = dir.path().join("dest");
        private_dir(&dest).expect("dest");
        let day = 86_400_000;
        let now = Timestamp(1_800_000_000_000);
        for age_days in [20, 15, 13, 1] {
            let t = Timestamp(now.millis() - age_days * day);
            container::write(
                &dest.join(file_name(t)),
                &key,
                container::KIND_DATABASE,
                &t.to_rfc3339(),
                &[("f", &payload)],
                &OsRng,
            )
            .expect("write");
        }
        std::fs::write(dest.join("notes.txt"), b"left alone").expect("write");
        assert_eq!(prune(&dest, now, 14).expect("prune"), 2);
        let left: Vec<_> =
            backups_in(&dest).expect("list").into_iter().map(|(t, _)| (now.millis() - t.millis()) / day).collect();
        assert_eq!(left, vec![1, 13]);
        assert!(dest.join("notes.txt").exists());
        // With only old backups, the newest stays.
        assert_eq!(prune(&dest, Timestamp(now.millis() + 100 * day), 14).expect("prune"), 1);
        assert_eq!(backups_in(&dest).expect("list").len(), 1);
    }
}
