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
pub mod dest;
pub mod s3;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use sekimori_core::{Clock, OsRng, SystemClock, Timestamp};
use serde::Deserialize;

use self::container::BackupKey;
use self::dest::Destination;

/// `[backup]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupConfig {
    /// Folders the scheduled backups are written to (each gets every backup); empty: no
    /// scheduled backups.
    #[serde(deserialize_with = "sekimori_core::settings::path_list")]
    pub destinations: Vec<PathBuf>,
    /// The backup key file (64 hex digits; `sekimori backup-key FILE` makes one). Keep it
    /// away from the data directory and the destinations.
    pub key_file: Option<PathBuf>,
    /// Minutes between scheduled backups (1 to 10080).
    pub interval_minutes: u64,
    /// Days a backup is kept in each destination (1 to 3650); the newest is always kept.
    pub keep_days: u64,
    /// The object store that `s3://bucket/prefix` destinations are on.
    pub s3: Option<s3::S3Config>,
}

impl Default for BackupConfig {
    fn default() -> Self {
        BackupConfig { destinations: Vec::new(), key_file: None, interval_minutes: 24 * 60, keep_days: 14, s3: None }
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
        self.validate_s3(&self.destinations, "backup.destinations")?;
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

impl BackupConfig {
    /// Checks that S3 destinations among `specs` (the value of `key`) can be reached.
    pub fn validate_s3(&self, specs: &[PathBuf], key: &'static str) -> Result<(), (&'static str, String)> {
        let Some(spec) = specs.iter().find(|s| dest::is_s3(s)) else { return Ok(()) };
        let Some(cfg) = &self.s3 else {
            return Err((key, format!("{} is an S3 destination: set [backup.s3]", spec.display())));
        };
        if cfg.access_key_id.is_empty() {
            return Err(("backup.s3.access_key_id", "required for S3 destinations".into()));
        }
        if cfg.secret_access_key_file.as_os_str().is_empty() {
            return Err(("backup.s3.secret_access_key_file", "required for S3 destinations".into()));
        }
        if !cfg.secret_access_key_file.exists() {
            return Err((
                "backup.s3.secret_access_key_file",
                format!("{} does not exist", cfg.secret_access_key_file.display()),
            ));
        }
        for spec in specs {
            // The bucket name and prefix, without a client.
            if let Some(rest) = spec.to_str().and_then(|s| s.strip_prefix("s3://")) {
                let bucket = rest.split('/').next().unwrap_or("");
                let ok = (3..=63).contains(&bucket.len())
                    && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
                if !ok {
                    return Err((key, format!("{}: {bucket:?} is not an S3 bucket name", spec.display())));
                }
            }
        }
        Ok(())
    }
}

/// What one backup run wrote.
#[derive(Debug)]
pub struct Written {
    /// Where the backup is, one per destination.
    pub files: Vec<String>,
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

/// Takes one backup of the store in `data_dir` (with `keys_file`) into every destination:
/// the snapshot is encrypted once, stored in each destination, and what each holds is read
/// back and opened as a restore would before the next; then old backups are pruned.
pub async fn backup(
    data_dir: &Path,
    keys_file: &Path,
    destinations: &[Destination],
    key: &BackupKey,
    keep_days: u64,
) -> anyhow::Result<Written> {
    if destinations.is_empty() {
        bail!("no backup destination");
    }
    for d in destinations.iter().filter_map(Destination::local_dir) {
        private_dir(d)?;
        sweep(d);
    }
    let now = SystemClock.now();
    let near = destinations.iter().find_map(Destination::local_dir).unwrap_or(data_dir);
    let scratch = Scratch::new(near)?;
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
    let sealed = scratch.0.join(&name);
    container::write(
        &sealed,
        key,
        container::KIND_DATABASE,
        &now.to_rfc3339(),
        &[("sekimori.db", &snapshot), ("keys/server.json", keys_file)],
        &OsRng,
    )?;
    let mut files = Vec::new();
    for (i, dest) in destinations.iter().enumerate() {
        // Read back and opened as a restore would, before it counts as a backup.
        let trial = scratch.0.join(format!("trial-{i}"));
        dest.put_checked(&name, &sealed, &trial, async |copy: &Path| {
            container::extract(copy, key, &trial)?;
            check_database(&trial.join("sekimori.db")).await
        })
        .await?;
        files.push(dest.location(&name));
    }
    let mut pruned = 0;
    for dest in destinations {
        pruned += prune(dest, now, keep_days).await?;
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

/// When the backup named `name` was taken (its name says: `sekimori-<UTC time>.skbk`).
fn taken_at(name: &str) -> Option<Timestamp> {
    let t = name.strip_prefix("sekimori-")?.strip_suffix(".skbk")?;
    // 20261206T034127123Z
    let b = t.as_bytes();
    if b.len() != 19 || b[8] != b'T' || b[18] != b'Z' {
        return None;
    }
    Timestamp::parse(&format!(
        "{}-{}-{}T{}:{}:{}.{}Z",
        &t[0..4],
        &t[4..6],
        &t[6..8],
        &t[9..11],
        &t[11..13],
        &t[13..15],
        &t[15..18]
    ))
}

/// The backups in `dest`, newest first: (when taken, name).
async fn backups_in(dest: &Destination) -> anyhow::Result<Vec<(Timestamp, String)>> {
    let mut found: Vec<(Timestamp, String)> =
        dest.list("sekimori-", ".skbk").await?.into_iter().filter_map(|n| Some((taken_at(&n)?, n))).collect();
    found.sort_by_key(|b| std::cmp::Reverse(b.0));
    Ok(found)
}

/// Deletes the backups in `dest` older than `keep_days`, never the newest.
async fn prune(dest: &Destination, now: Timestamp, keep_days: u64) -> anyhow::Result<usize> {
    let keep_ms = i64::try_from(keep_days).unwrap_or(i64::MAX).saturating_mul(86_400_000);
    let mut n = 0;
    for (t, name) in backups_in(dest).await?.into_iter().skip(1) {
        if now.millis() - t.millis() > keep_ms {
            dest.delete(&name).await?;
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
        let result = async {
            let destinations = dest::resolve(&cfg.destinations, cfg.s3.as_ref())?;
            let now = SystemClock.now();
            // Due when a destination has no backup, or its newest is an interval old.
            let (mut oldest_newest, mut missing) = (None::<Timestamp>, false);
            for d in &destinations {
                match backups_in(d).await?.first() {
                    Some((t, _)) => oldest_newest = Some(oldest_newest.map_or(*t, |n| n.min(*t))),
                    None => missing = true,
                }
            }
            let due_in = match (missing, oldest_newest) {
                (false, Some(t)) => interval
                    .saturating_sub(Duration::from_millis(u64::try_from(now.millis() - t.millis()).unwrap_or(0))),
                _ => Duration::ZERO,
            };
            tokio::time::sleep(due_in).await;
            let key = BackupKey::load(&key_file)?;
            backup(&data_dir, &keys_file, &destinations, &key, cfg.keep_days).await
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
    fn backup_names_carry_their_time() {
        let t = Timestamp(1_796_527_287_123);
        assert_eq!(taken_at(&file_name(t)), Some(t));
        assert_eq!(taken_at("sekimori-2026.skbk"), None);
        assert_eq!(taken_at("notes.txt"), None);
    }

    #[tokio::test]
    async fn backups_past_the_retention_are_deleted_but_never_the_newest() {
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
        let folder = Destination::Dir(dest.clone());
        assert_eq!(prune(&folder, now, 14).await.expect("prune"), 2);
        let left: Vec<_> = backups_in(&folder)
            .await
            .expect("list")
            .into_iter()
            .map(|(t, _)| (now.millis() - t.millis()) / day)
            .collect();
        assert_eq!(left, vec![1, 13]);
        assert!(dest.join("notes.txt").exists());
        // With only old backups, the newest stays.
        assert_eq!(prune(&folder, Timestamp(now.millis() + 100 * day), 14).await.expect("prune"), 1);
        assert_eq!(backups_in(&folder).await.expect("list").len(), 1);
    }
}
