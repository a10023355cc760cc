//! `sekimori audit verify` and `sekimori audit archive`, and the archive schedule in
//! `serve` (`[audit] archive_after_days`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use sekimori_core::{Clock, OsRng, SystemClock};
use sekimori_gate::archive::base_is_signed;
use sekimori_gate::audit::verify_chain;
use sekimori_gate::checkpoints::{parse_checkpoints, verify_checkpoints, Verdict};
use sekimori_gate::ServerKeys;

use crate::backup::archive::{self, Archived};
use crate::backup::container::BackupKey;
use crate::backup::dest::{self, Destination};
use crate::config::Config;
use crate::serve::open_store;

fn server_keys(cfg: &Config) -> anyhow::Result<ServerKeys> {
    let keys_file = cfg.keys_file();
    if !keys_file.exists() {
        anyhow::bail!("{}: the server key file is needed to check and sign the audit log", keys_file.display());
    }
    ServerKeys::load_or_create(&keys_file, &OsRng).context("storage.keys_file")
}

/// `sekimori audit verify`: walks the chain in the store (from its archive base, whose
/// signature is checked), through the archives in a folder when given, then checks it
/// against the signed checkpoints (rows cut from the end, rows rewritten with every later
/// hash); `Ok(false)` when anything does not verify.
pub async fn audit_verify(
    cfg: &Config,
    checkpoints: Option<&Path>,
    archives: Option<(PathBuf, BackupKey)>,
) -> anyhow::Result<bool> {
    let store = open_store(cfg).await?;
    let keys = server_keys(cfg)?;
    let vk = keys.verifying_key();
    let base = store.audit_base().await?;
    if let Some(b) = &base {
        if !base_is_signed(b, &vk) {
            println!("audit log FORGED: its archive base (row {}) is not signed by this server's key", b.seq);
            return Ok(false);
        }
    }
    let report = verify_chain(store.as_ref()).await?;
    if let Some(b) = report.first_broken {
        println!("audit log BROKEN at row {}: {}", b.seq, b.reason);
        println!("{} rows checked; rows before {} verify", report.rows_checked, b.seq);
        return Ok(false);
    }
    let mut archived = BTreeMap::new();
    let mut archive_note = match &base {
        Some(b) => format!("; rows 1 to {} are archived (check them with --archives)", b.seq),
        None => String::new(),
    };
    if let Some((dir, key)) = archives {
        let place = dest::resolve(std::slice::from_ref(&dir), cfg.backup.s3.as_ref())?.remove(0);
        let chain = match archive::verify_archives(&place, &key, &vk, &cfg.storage.data_dir).await {
            Ok(c) => c,
            Err(e) => {
                println!("audit archives BROKEN: {e:#}");
                return Ok(false);
            }
        };
        let (through, hash) = &chain.through;
        let base_at = base.as_ref().map_or((0, sekimori_store::GENESIS_HASH.to_vec()), |b| (b.seq, b.hash.clone()));
        if (*through, hash) != (base_at.0, &base_at.1) {
            println!(
                "audit archives INCOMPLETE: the {} archives in {} end at row {through}, the live log starts after row {}",
                chain.files.len(),
                place,
                base_at.0
            );
            return Ok(false);
        }
        archive_note = format!("; {} archived rows verified in {} archives", chain.rows, chain.files.len());
        archived = chain.checkpointed;
    }
    let file = checkpoints.map(Path::to_path_buf).unwrap_or_else(|| cfg.checkpoint_file());
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(anyhow::anyhow!("{}: {e}", file.display())),
    };
    let rows = report.rows_checked;
    let verdict = match parse_checkpoints(&text, &vk) {
        Ok(checkpoints) => verify_checkpoints(store.as_ref(), &checkpoints, &archived).await?,
        Err(bad_line) => bad_line,
    };
    match verdict {
        Verdict::Matches { newest, archived_unchecked } => {
            println!(
                "audit log intact: {rows} rows verified{archive_note}; matches the signed checkpoint at row {} ({})",
                newest.seq, newest.at
            );
            if archived_unchecked > 0 {
                println!("{archived_unchecked} checkpoints of archived rows not checked (give --archives)");
            }
            Ok(true)
        }
        Verdict::NoCheckpoints => {
            println!("audit log intact: {rows} rows verified{archive_note}");
            println!("no checkpoints in {}: rows cut from the end could not be noticed", file.display());
            Ok(true)
        }
        Verdict::Truncated { checkpoint, last_seq } => {
            println!(
                "audit log TRUNCATED: the checkpoint of {} names row {}, but the log ends at row {last_seq}",
                checkpoint.at, checkpoint.seq
            );
            Ok(false)
        }
        Verdict::Rewritten(cp) => {
            println!(
                "audit log REWRITTEN: row {} is not the row the checkpoint of {} signed (every row up to it may have been replaced)",
                cp.seq, cp.at
            );
            Ok(false)
        }
        Verdict::BadLine { line, why } => {
            println!("audit checkpoints FORGED or damaged: {}:{line}: {why}", file.display());
            Ok(false)
        }
    }
}

/// `sekimori audit archive`: archives the checkpointed rows older than `days` days.
pub async fn audit_archive(
    cfg: &Config,
    key: &BackupKey,
    destinations: &[Destination],
    days: u64,
) -> anyhow::Result<Option<Archived>> {
    let store = open_store(cfg).await?;
    let keys = server_keys(cfg)?;
    let age_ms = i64::try_from(days).unwrap_or(i64::MAX).saturating_mul(86_400_000);
    let before = SystemClock.now().millis().saturating_sub(age_ms);
    archive::archive(store.as_ref(), &keys, &cfg.checkpoint_file(), key, destinations, before, &cfg.storage.data_dir)
        .await
}

/// The schedule in `serve`: once an hour, archive the rows older than
/// `audit.archive_after_days`; failures are logged at ERROR and retried.
pub fn start_archiving(cfg: &Config) -> Option<tokio::task::JoinHandle<()>> {
    if cfg.audit.archive_after_days == 0 {
        return None;
    }
    let (cfg, specs) = (cfg.clone(), cfg.archive_destinations());
    let key_file = cfg.backup.key_file.clone()?;
    Some(tokio::spawn(async move {
        loop {
            let run = async {
                let key = BackupKey::load(&key_file)?;
                let destinations = dest::resolve(&specs, cfg.backup.s3.as_ref())?;
                audit_archive(&cfg, &key, &destinations, cfg.audit.archive_after_days).await
            };
            match run.await {
                Ok(Some(a)) => {
                    tracing::info!(from = a.from, to = a.to, deleted = a.deleted, files = ?a.files, "audit rows archived")
                }
                Ok(None) => tracing::debug!("no audit rows to archive"),
                Err(e) => tracing::error!(error = %format!("{e:#}"), "audit archive failed; retrying in an hour"),
            }
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    }))
}
