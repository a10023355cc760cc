//! Audit archives: sealed segments of the audit log moved out of the live table into the
//! backup destinations (`sekimori audit archive`, `[audit] archive_after_days`), and the
//! check of the whole chain across them (`sekimori audit verify --archives`).
//!
//! An archive (`sekimori-audit-<from>-<to>.skar`, the backup container of kind
//! `audit-archive`, encrypted under the backup key) holds:
//! - `segment.json`: the first and last row, the hash before the first row, the last
//!   row's hash and the server's public key;
//! - `audit.jsonl`: the rows, one JSON object a line, exactly as stored;
//! - `checkpoints.jsonl`: the signed checkpoints of rows in the segment, the last of
//!   which names its last row (the seal).
//!
//! Before the rows leave the database, the live chain and the checkpoints are verified,
//! each archive file is written, opened again and walked, and only then are the rows
//! deleted, in one transaction with the new signed base and an `audit.archived` event.

use sekimori_core::{TenantId, Timestamp, UserId};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use anyhow::{bail, Context};
use ed25519_dalek::VerifyingKey;
use sekimori_core::OsRng;
use sekimori_gate::archive::{self as seal, Segment};
use sekimori_gate::audit::{verify_chain, ChainWalker};
use sekimori_gate::checkpoints::{parse_checkpoints, verify_checkpoints, Checkpoint, Verdict};
use sekimori_gate::keys::ServerKeys;
use sekimori_store::{Store, StoredEvent};
use serde::{Deserialize, Serialize};

use super::container::{self, BackupKey};
use super::dest::Destination;
use super::{private_dir, sweep, Scratch};

const PAGE: i64 = 2000;

/// `segment.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentFile {
    /// The first row.
    pub from_seq: i64,
    /// The last row.
    pub to_seq: i64,
    /// The hash before the first row, hex.
    pub prev_hash: String,
    /// The last row's hash, hex.
    pub last_hash: String,
    /// The server key that signed the checkpoints, base64url.
    pub server_key: String,
}

/// One line of `audit.jsonl`: a row as stored, hashes in hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RowLine {
    seq: i64,
    tenant_id: TenantId,
    ts: i64,
    action: String,
    outcome: String,
    user_id: Option<UserId>,
    doc: String,
    prev_hash: String,
    hash: String,
}

impl RowLine {
    fn of(r: &StoredEvent) -> Self {
        RowLine {
            seq: r.seq,
            tenant_id: r.tenant_id.clone(),
            ts: r.ts.millis(),
            action: r.action.clone(),
            outcome: r.outcome.clone(),
            user_id: r.user_id.clone(),
            doc: r.doc.clone(),
            prev_hash: hex::encode(&r.prev_hash),
            hash: hex::encode(&r.hash),
        }
    }

    fn into_row(self) -> Option<StoredEvent> {
        Some(StoredEvent {
            seq: self.seq,
            tenant_id: self.tenant_id,
            ts: Timestamp(self.ts),
            action: self.action,
            outcome: self.outcome,
            user_id: self.user_id,
            doc: self.doc,
            prev_hash: hex::decode(self.prev_hash).ok()?,
            hash: hex::decode(self.hash).ok()?,
        })
    }
}

/// What one archive run did.
#[derive(Debug)]
pub struct Archived {
    /// Where the archive is, one per destination.
    pub files: Vec<String>,
    /// The rows archived.
    pub from: i64,
    /// The last one.
    pub to: i64,
    /// Rows deleted from the live table.
    pub deleted: u64,
}

fn file_name(from: i64, to: i64) -> String {
    format!("sekimori-audit-{from:012}-{to:012}.skar")
}

fn read_text(path: &Path) -> anyhow::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(anyhow::anyhow!("{}: {e}", path.display())),
    }
}

/// Archives the rows older than `before` (ms) up to the newest checkpoint that seals them,
/// into every destination; `None` when there is nothing to archive.
pub async fn archive(
    store: &dyn Store,
    keys: &ServerKeys,
    checkpoint_file: &Path,
    key: &BackupKey,
    destinations: &[Destination],
    before: i64,
    scratch_near: &Path,
) -> anyhow::Result<Option<Archived>> {
    if destinations.is_empty() {
        bail!("no archive destination");
    }
    // Never archive a log that does not verify: that would launder the tampering.
    let vk = keys.verifying_key();
    if let Some(base) = store.audit_base().await? {
        if !seal::base_is_signed(&base, &vk) {
            bail!("the audit log's archive base is not signed by this server's key; not archiving");
        }
    }
    let report = verify_chain(store).await?;
    if let Some(b) = report.first_broken {
        bail!("the audit log is broken at row {}: {}; not archiving", b.seq, b.reason);
    }
    let text = read_text(checkpoint_file)?;
    let checkpoints = parse_checkpoints(&text, &vk)
        .map_err(|v| anyhow::anyhow!("{}: {v:?}; not archiving", checkpoint_file.display()))?;
    match verify_checkpoints(store, &checkpoints, &BTreeMap::new()).await? {
        Verdict::Matches { .. } => {}
        Verdict::NoCheckpoints => return Ok(None),
        other => {
            bail!("{}: the checkpoints do not match the log ({other:?}); not archiving", checkpoint_file.display())
        }
    }
    // Rows the detection follower has not read yet stay.
    let limit = store.watch_cursor(sekimori_watch::AUDIT_CURSOR).await?;
    let Some(segment) = seal::plan(store, &checkpoints, before, limit).await? else { return Ok(None) };

    let near = destinations.iter().find_map(Destination::local_dir).unwrap_or(scratch_near);
    private_dir(near)?;
    let scratch = Scratch::new(near)?;
    let last = write_segment(store, &segment, &checkpoints, &keys.public_key_b64(), &scratch.0).await?;
    let name = file_name(segment.from, segment.to);
    let now = sekimori_core::Clock::now(&sekimori_core::SystemClock);
    let sealed = scratch.0.join(&name);
    let parts = ["segment.json", "audit.jsonl", "checkpoints.jsonl"].map(|n| (n, scratch.0.join(n)));
    let parts: Vec<(&str, &Path)> = parts.iter().map(|(n, p)| (*n, p.as_path())).collect();
    container::write(&sealed, key, container::KIND_AUDIT_ARCHIVE, &now.to_rfc3339(), &parts, &OsRng)?;
    let mut files = Vec::new();
    for (i, dest) in destinations.iter().enumerate() {
        if let Some(d) = dest.local_dir() {
            sweep(d);
        }
        if !dest.list(&name, "").await?.is_empty() {
            bail!(
                "{}: already exists (an archive of these rows whose seal did not commit?); move it away and run again",
                dest.location(&name)
            );
        }
        // Read back, opened and walked as a verification would, before it counts.
        let trial = scratch.0.join(format!("trial-{i}"));
        dest.put_checked(&name, &sealed, &trial, async |copy: &Path| {
            let opened = open_archive(copy, key, &trial)?;
            let mut walker = ChainWalker::after(segment.from - 1, &hex::decode(&segment.prev_hash)?);
            walk_archive(&opened, &trial, copy, &vk, &mut walker, &mut BTreeMap::new())
        })
        .await?;
        files.push((dest, dest.location(&name)));
    }
    let names: Vec<String> = files.iter().map(|(_, f)| f.clone()).collect();
    match seal::seal(store, keys, now, &segment, &last, &names).await? {
        Ok(deleted) => Ok(Some(Archived { files: names, from: segment.from, to: segment.to, deleted })),
        Err(refused) => {
            for (dest, _) in &files {
                let _ = dest.delete(&name).await;
            }
            bail!("the log changed while archiving ({refused:?}); nothing deleted, archives removed")
        }
    }
}

/// Writes `segment.json`, `audit.jsonl` and `checkpoints.jsonl` into `dir`, walking the
/// chain as it goes; returns the last row.
async fn write_segment(
    store: &dyn Store,
    segment: &Segment,
    checkpoints: &[Checkpoint],
    server_key: &str,
    dir: &Path,
) -> anyhow::Result<StoredEvent> {
    let mut walker = ChainWalker::after(segment.from - 1, &hex::decode(&segment.prev_hash)?);
    let rows_path = dir.join("audit.jsonl");
    let mut out = BufWriter::new(std::fs::File::create(&rows_path)?);
    let mut last = None;
    while walker.last().0 < segment.to {
        let rows = seal::rows(store, walker.last().0, segment.to, PAGE).await?;
        if rows.is_empty() {
            bail!("row {} is gone from the log while archiving", walker.last().0 + 1);
        }
        for row in rows {
            walker.step(&row).map_err(|b| anyhow::anyhow!("row {}: {}", b.seq, b.reason))?;
            serde_json::to_writer(&mut out, &RowLine::of(&row))?;
            out.write_all(b"\n")?;
            last = Some(row);
        }
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    let last = last.context("an empty segment")?;
    if hex::encode(&last.hash) != segment.checkpoint.hash {
        bail!("row {} does not match its checkpoint", last.seq);
    }
    let mut cps = String::new();
    for cp in checkpoints.iter().filter(|c| c.seq >= segment.from && c.seq <= segment.to) {
        cps.push_str(&serde_json::to_string(cp)?);
        cps.push('\n');
    }
    std::fs::write(dir.join("checkpoints.jsonl"), cps)?;
    let head = SegmentFile {
        from_seq: segment.from,
        to_seq: segment.to,
        prev_hash: segment.prev_hash.clone(),
        last_hash: hex::encode(&last.hash),
        server_key: server_key.to_owned(),
    };
    std::fs::write(dir.join("segment.json"), serde_json::to_vec_pretty(&head)?)?;
    Ok(last)
}

/// Extracts an archive into `dir` (its kind checked) and reads its `segment.json`.
fn open_archive(file: &Path, key: &BackupKey, dir: &Path) -> anyhow::Result<SegmentFile> {
    let (h, _, _) = container::header(file)?;
    if h.backend != container::KIND_AUDIT_ARCHIVE {
        bail!("{}: a database backup, not an audit archive", file.display());
    }
    container::extract(file, key, dir)?;
    let seg: SegmentFile = serde_json::from_slice(&std::fs::read(dir.join("segment.json"))?)
        .with_context(|| format!("{}: segment.json", file.display()))?;
    Ok(seg)
}

/// Walks the rows of an archive extracted into `dir` on from `walker`: it must start where
/// the chain so far ends and end where its `segment.json` says; its checkpoints must be
/// signed by `vk` and match its rows (their hashes go into `checkpointed`), and the last
/// one must seal its last row.
fn walk_archive(
    seg: &SegmentFile,
    dir: &Path,
    file: &Path,
    vk: &VerifyingKey,
    walker: &mut ChainWalker,
    checkpointed: &mut BTreeMap<i64, String>,
) -> anyhow::Result<()> {
    let name = file.display();
    let (prev_seq, prev_hash) = walker.last();
    if seg.from_seq != prev_seq + 1 || seg.prev_hash != hex::encode(prev_hash) {
        bail!(
            "{name}: holds rows {}..{}, but the chain so far ends at row {prev_seq}; an archive is missing, repeated or foreign",
            seg.from_seq,
            seg.to_seq
        );
    }
    let cps = parse_checkpoints(&std::fs::read_to_string(dir.join("checkpoints.jsonl"))?, vk)
        .map_err(|v| anyhow::anyhow!("{name}: checkpoints: {v:?}"))?;
    let wanted: BTreeMap<i64, &Checkpoint> = cps.iter().map(|c| (c.seq, c)).collect();
    let rows = BufReader::new(std::fs::File::open(dir.join("audit.jsonl"))?);
    for (i, line) in rows.lines().enumerate() {
        let line = line?;
        let row = serde_json::from_str::<RowLine>(&line)
            .ok()
            .and_then(RowLine::into_row)
            .with_context(|| format!("{name}: audit.jsonl line {} is not a row", i + 1))?;
        walker.step(&row).map_err(|b| anyhow::anyhow!("{name}: row {}: {}", b.seq, b.reason))?;
        if let Some(cp) = wanted.get(&row.seq) {
            if cp.hash != hex::encode(&row.hash) {
                bail!("{name}: row {} is not the row its signed checkpoint of {} names", row.seq, cp.at);
            }
            checkpointed.insert(row.seq, cp.hash.clone());
        }
    }
    let (last_seq, last_hash) = walker.last();
    if last_seq != seg.to_seq || hex::encode(last_hash) != seg.last_hash {
        bail!("{name}: ends at row {last_seq}, but says it holds rows up to {}; cut short", seg.to_seq);
    }
    if wanted.keys().next_back() != Some(&seg.to_seq) || wanted.len() != checkpointed.range(seg.from_seq..).count() {
        bail!("{name}: its checkpoints do not seal its rows");
    }
    Ok(())
}

/// What the archives in a folder hold, walked from the genesis.
#[derive(Debug)]
pub struct ArchiveChain {
    /// Where the archives are, in chain order.
    pub files: Vec<String>,
    /// Rows checked.
    pub rows: u64,
    /// The last archived row and its hash.
    pub through: (i64, Vec<u8>),
    /// Hashes (hex) of the rows the archived checkpoints name.
    pub checkpointed: BTreeMap<i64, String>,
}

/// Opens every archive in `place` with `key` and walks the chain through them from the
/// genesis: each must start where the one before ended, every row must verify, and every
/// checkpoint must be signed by `vk` and match its row. Scratch files go near `scratch_near`
/// when `place` is not a folder.
pub async fn verify_archives(
    place: &Destination,
    key: &BackupKey,
    vk: &VerifyingKey,
    scratch_near: &Path,
) -> anyhow::Result<ArchiveChain> {
    let files = place.list("sekimori-audit-", ".skar").await?;
    let mut walker = ChainWalker::from_genesis();
    let mut checkpointed = BTreeMap::new();
    let near = place.local_dir().unwrap_or(scratch_near);
    private_dir(near)?;
    let scratch = Scratch::new(near)?;
    for (i, name) in files.iter().enumerate() {
        let here = scratch.0.join(i.to_string());
        private_dir(&here)?;
        let copy = here.join(name);
        place.fetch(name, &copy).await?;
        let seg = open_archive(&copy, key, &here)?;
        walk_archive(&seg, &here, Path::new(&place.location(name)), vk, &mut walker, &mut checkpointed)?;
        std::fs::remove_dir_all(&here)?;
    }
    let (seq, hash) = walker.last();
    Ok(ArchiveChain {
        through: (seq, hash.to_vec()),
        rows: walker.checked,
        files: files.iter().map(|n| place.location(n)).collect(),
        checkpointed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_names_sort_in_chain_order() {
        let mut names = vec![file_name(1001, 2000), file_name(1, 1000), file_name(2001, 12000)];
        names.sort();
        assert_eq!(names, vec![file_name(1, 1000), file_name(1001, 2000), file_name(2001, 12000)]);
    }

    #[test]
    fn rows_round_trip_through_their_lines() {
        let row = StoredEvent {
            seq: 3,
            tenant_id: "t".into(),
            ts: Timestamp(5),
            action: "a".into(),
            outcome: "success".into(),
            user_id: None,
            doc: "{}".into(),
            prev_hash: vec![1; 32],
            hash: vec![2; 32],
        };
        let line = serde_json::to_string(&RowLine::of(&row)).expect("json");
        let back: RowLine = serde_json::from_str(&line).expect("parse");
        assert_eq!(back.into_row(), Some(row));
    }
}
