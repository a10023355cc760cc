//! The backup file: a small JSON header in the clear, then the files it holds, encrypted
//! in 1 MiB chunks with XChaCha20-Poly1305 under a key only the operator holds.
//!
//! ```text
//! "SKMBKP01" | header length (u32 BE) | header JSON | chunk* ; chunk = length (u32 BE) | sealed
//! ```
//!
//! Each chunk's nonce is the file's random 16-byte prefix, the chunk's index (u32 BE) and a
//! last-chunk flag, and its associated data is the whole header: chunks cannot be
//! reordered, dropped, moved between backups or cut off at the end, and the header cannot
//! be changed, without the opening failing. The header names the key by a fingerprint (so
//! a backup made with another key is named as such, not as corrupt) and each file's size
//! and SHA-256.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const MAGIC: &[u8; 8] = b"SKMBKP01";
/// `backend` of a database backup.
pub const KIND_DATABASE: &str = "sqlite";
/// `backend` of an audit archive (a sealed segment of the audit log).
pub const KIND_AUDIT_ARCHIVE: &str = "audit-archive";
const CHUNK: usize = 1 << 20;
const MAX_HEADER: u32 = 1 << 20;

/// Why a backup cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// Not a Sekimori backup (or an unknown version of one).
    #[error("{0}: not a Sekimori backup file (or of an unknown version)")]
    NotABackup(String),
    /// Made with another backup key.
    #[error("{path}: made with another backup key (key {found}, this key is {ours})")]
    ForeignKey {
        /// The file.
        path: String,
        /// The key fingerprint in the file.
        found: String,
        /// Ours.
        ours: String,
    },
    /// Altered, cut short or damaged.
    #[error("{path}: corrupt: {why}")]
    Corrupt {
        /// The file.
        path: String,
        /// What did not check.
        why: String,
    },
    /// The backup key file is unusable.
    #[error("{path}: {why}")]
    Key {
        /// The key file.
        path: String,
        /// What is wrong.
        why: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io { path: path.display().to_string(), source }
}

/// One file in a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Its name when restored, relative to the data directory.
    pub name: String,
    /// Size, bytes.
    pub bytes: u64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
}

/// The header, in the clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Format version (1).
    pub version: u32,
    /// When the snapshot was taken, RFC 3339.
    pub created_at: String,
    /// What it holds: [`KIND_DATABASE`] or [`KIND_AUDIT_ARCHIVE`].
    pub backend: String,
    /// The backup key's fingerprint (first 16 hex digits of its SHA-256).
    pub key_id: String,
    /// The chunk nonces' prefix, hex (16 bytes).
    pub nonce_prefix: String,
    /// The files, in order.
    pub files: Vec<Entry>,
}

/// The operator's backup key (32 bytes, stored as 64 hex digits in a file of its own,
/// kept away from the data directory and its backups).
pub struct BackupKey {
    key: [u8; 32],
    /// Its fingerprint.
    pub id: String,
}

impl std::fmt::Debug for BackupKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackupKey").field("id", &self.id).finish_non_exhaustive()
    }
}

impl BackupKey {
    fn from_bytes(key: [u8; 32]) -> Self {
        let id = hex::encode(Sha256::digest(key))[..16].to_owned();
        BackupKey { key, id }
    }

    /// Reads a key file.
    pub fn load(path: &Path) -> Result<Self, BackupError> {
        let bad = |why: &str| BackupError::Key { path: path.display().to_string(), why: why.to_owned() };
        let text = std::fs::read_to_string(path).map_err(io(path))?;
        let bytes = hex::decode(text.trim()).map_err(|_| bad("not 64 hexadecimal digits"))?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| bad("not 32 bytes (64 hexadecimal digits)"))?;
        Ok(Self::from_bytes(key))
    }

    /// Makes a new key file (mode 0600); refuses to overwrite one.
    pub fn create(path: &Path, rng: &dyn sekimori_core::Rng) -> Result<Self, BackupError> {
        let mut key = [0u8; 32];
        rng.fill(&mut key);
        sekimori_gate::keys::write_private(path, format!("{}\n", hex::encode(key)).as_bytes()).map_err(io(path))?;
        Ok(Self::from_bytes(key))
    }
}

fn nonce(prefix: &[u8; 16], index: u32, last: bool) -> XNonce {
    let mut n = [0u8; 24];
    n[..16].copy_from_slice(prefix);
    n[16..20].copy_from_slice(&index.to_be_bytes());
    n[20] = u8::from(last);
    XNonce::from(n)
}

/// Writes `files` (name in the backup, path on disk) into `out` under `key`; `kind` is
/// [`KIND_DATABASE`] or [`KIND_AUDIT_ARCHIVE`].
pub fn write(
    out: &Path,
    key: &BackupKey,
    kind: &str,
    created_at: &str,
    files: &[(&str, &Path)],
    rng: &dyn sekimori_core::Rng,
) -> Result<Header, BackupError> {
    let mut entries = Vec::new();
    for (name, path) in files {
        let mut f = BufReader::new(File::open(path).map_err(io(path))?);
        let mut h = Sha256::new();
        let bytes = std::io::copy(&mut f, &mut HashWriter(&mut h)).map_err(io(path))?;
        entries.push(Entry { name: (*name).to_owned(), bytes, sha256: hex::encode(h.finalize()) });
    }
    let mut prefix = [0u8; 16];
    rng.fill(&mut prefix);
    let header = Header {
        version: 1,
        created_at: created_at.to_owned(),
        backend: kind.to_owned(),
        key_id: key.id.clone(),
        nonce_prefix: hex::encode(prefix),
        files: entries,
    };
    let header_bytes = serde_json::to_vec(&header).map_err(|e| BackupError::NotABackup(e.to_string()))?;
    let cipher = XChaCha20Poly1305::new(&key.key.into());
    let mut w = BufWriter::new(sekimori_private_create(out)?);
    let len = u32::try_from(header_bytes.len()).map_err(|_| BackupError::NotABackup("header too long".into()))?;
    w.write_all(MAGIC)
        .and_then(|()| w.write_all(&len.to_be_bytes()))
        .and_then(|()| w.write_all(&header_bytes))
        .map_err(io(out))?;
    // The files' bytes, one after the other, in chunks; the last chunk is flagged (an
    // empty one when everything fits the chunks before).
    let total: u64 = header.files.iter().map(|e| e.bytes).sum();
    let mut readers = files.iter().map(|(_, p)| File::open(p).map_err(io(p))).collect::<Result<Vec<_>, _>>()?;
    let mut buf = vec![0u8; CHUNK];
    let (mut index, mut written, mut reader) = (0u32, 0u64, 0usize);
    loop {
        let mut filled = 0;
        while filled < CHUNK && reader < readers.len() {
            let n = readers[reader].read(&mut buf[filled..]).map_err(io(files[reader].1))?;
            if n == 0 {
                reader += 1;
            }
            filled += n;
        }
        written += filled as u64;
        let last = written >= total && reader >= readers.len();
        let sealed = cipher
            .encrypt(&nonce(&prefix, index, last), Payload { msg: &buf[..filled], aad: &header_bytes })
            .map_err(|_| BackupError::NotABackup("encryption failed".into()))?;
        let n = u32::try_from(sealed.len()).map_err(|_| BackupError::NotABackup("chunk too long".into()))?;
        w.write_all(&n.to_be_bytes()).and_then(|()| w.write_all(&sealed)).map_err(io(out))?;
        if last {
            break;
        }
        index = index.checked_add(1).ok_or_else(|| BackupError::NotABackup("backup too large".into()))?;
    }
    let f = w.into_inner().map_err(|e| BackupError::Io { path: out.display().to_string(), source: e.into_error() })?;
    f.sync_all().map_err(io(out))?;
    Ok(header)
}

fn sekimori_private_create(path: &Path) -> Result<File, BackupError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path).map_err(io(path))
}

struct HashWriter<'a>(&'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Reads only the header (no key needed).
pub fn header(path: &Path) -> Result<(Header, Vec<u8>, BufReader<File>), BackupError> {
    let not = || BackupError::NotABackup(path.display().to_string());
    let mut r = BufReader::new(File::open(path).map_err(io(path))?);
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic).map_err(|_| not())?;
    if &magic != MAGIC {
        return Err(not());
    }
    let mut len = [0u8; 4];
    r.read_exact(&mut len).map_err(|_| not())?;
    let len = u32::from_be_bytes(len);
    if len > MAX_HEADER {
        return Err(not());
    }
    let mut header_bytes = vec![0u8; len as usize];
    r.read_exact(&mut header_bytes).map_err(|_| not())?;
    let header: Header = serde_json::from_slice(&header_bytes).map_err(|_| not())?;
    if header.version != 1 || ![KIND_DATABASE, KIND_AUDIT_ARCHIVE].contains(&header.backend.as_str()) {
        return Err(not());
    }
    Ok((header, header_bytes, r))
}

/// Opens a backup and writes its files under `dir` (which must exist), checking every
/// chunk, the end, and each file's size and SHA-256. A file is written only once all of
/// it checked; on any failure nothing is left behind.
pub fn extract(path: &Path, key: &BackupKey, dir: &Path) -> Result<Header, BackupError> {
    let (header, header_bytes, mut r) = header(path)?;
    let corrupt = |why: String| BackupError::Corrupt { path: path.display().to_string(), why };
    if header.key_id != key.id {
        return Err(BackupError::ForeignKey {
            path: path.display().to_string(),
            found: header.key_id.clone(),
            ours: key.id.clone(),
        });
    }
    let prefix: [u8; 16] = hex::decode(&header.nonce_prefix)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| corrupt("bad nonce prefix".into()))?;
    let cipher = XChaCha20Poly1305::new(&key.key.into());
    let staging = dir.join(".restore-staging");
    std::fs::create_dir_all(&staging).map_err(io(&staging))?;
    let result = (|| {
        let mut outs = Vec::new();
        for e in &header.files {
            if e.name.contains("..") || e.name.starts_with('/') {
                return Err(corrupt(format!("unsafe file name {:?}", e.name)));
            }
            let p = staging.join(e.name.replace('/', "__"));
            outs.push((sekimori_private_create(&p)?, p, Sha256::new(), 0u64));
        }
        let (mut index, mut current, mut done) = (0u32, 0usize, false);
        while !done {
            let mut len = [0u8; 4];
            r.read_exact(&mut len).map_err(|_| corrupt(format!("cut short before chunk {index}")))?;
            let len = u32::from_be_bytes(len) as usize;
            if len > CHUNK + 16 {
                return Err(corrupt(format!("chunk {index} is too long")));
            }
            let mut sealed = vec![0u8; len];
            r.read_exact(&mut sealed).map_err(|_| corrupt(format!("chunk {index} is cut short")))?;
            let (plain, last) =
                match cipher.decrypt(&nonce(&prefix, index, false), Payload { msg: &sealed, aad: &header_bytes }) {
                    Ok(p) => (p, false),
                    Err(_) => match cipher
                        .decrypt(&nonce(&prefix, index, true), Payload { msg: &sealed, aad: &header_bytes })
                    {
                        Ok(p) => (p, true),
                        Err(_) => return Err(corrupt(format!("chunk {index} does not authenticate"))),
                    },
                };
            let mut rest = &plain[..];
            while !rest.is_empty() {
                let Some((f, p, h, n)) = outs.get_mut(current) else {
                    return Err(corrupt("more data than the header lists".into()));
                };
                let want = header.files[current].bytes - *n;
                let take = rest.len().min(usize::try_from(want).unwrap_or(usize::MAX));
                f.write_all(&rest[..take]).map_err(io(p))?;
                h.update(&rest[..take]);
                *n += take as u64;
                rest = &rest[take..];
                if *n == header.files[current].bytes {
                    current += 1;
                }
            }
            while current < outs.len() && header.files[current].bytes == 0 {
                current += 1;
            }
            done = last;
            index = index.checked_add(1).ok_or_else(|| corrupt("too many chunks".into()))?;
        }
        if r.read(&mut [0u8; 1]).map_err(io(path))? != 0 {
            return Err(corrupt("data after the last chunk".into()));
        }
        for ((f, p, h, n), e) in outs.into_iter().zip(&header.files) {
            if n != e.bytes || hex::encode(h.finalize()) != e.sha256 {
                return Err(corrupt(format!("{} does not match its checksum", e.name)));
            }
            f.sync_all().map_err(io(&p))?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    for e in &header.files {
        let from = staging.join(e.name.replace('/', "__"));
        let to = dir.join(&e.name);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::rename(&from, &to).map_err(io(&to))?;
    }
    let _ = std::fs::remove_dir_all(&staging);
    Ok(header)
}

#[cfg(test)]
mod tests {
    use sekimori_core::OsRng;

    use super::*;

    fn setup(sizes: &[usize]) -> (tempfile::TempDir, Vec<std::path::PathBuf>) {
        let dir = tempfile::tempdir().expect("dir");
        let mut paths = Vec::new();
        for (i, n) in sizes.iter().enumerate() {
            let p = dir.path().join(format!("f{i}"));
            std::fs::write(&p, (0..*n).map(|b| (b * 7 + i) as u8).collect::<Vec<u8>>()).expect("write");
            paths.push(p);
        }
        (dir, paths)
    }

    fn round_trip(sizes: &[usize]) {
        let (dir, paths) = setup(sizes);
        let key = BackupKey::create(&dir.path().join("key"), &OsRng).expect("key");
        let names: Vec<String> = (0..sizes.len()).map(|i| format!("d/f{i}")).collect();
        let files: Vec<(&str, &Path)> =
            names.iter().map(String::as_str).zip(paths.iter().map(|p| p.as_path())).collect();
        let out = dir.path().join("b.skbk");
        write(&out, &key, KIND_DATABASE, "2026-12-06T00:00:00Z", &files, &OsRng).expect("write");
        let target = dir.path().join("restored");
        std::fs::create_dir(&target).expect("mkdir");
        extract(&out, &key, &target).expect("extract");
        for (i, p) in paths.iter().enumerate() {
            assert_eq!(std::fs::read(target.join(format!("d/f{i}"))).expect("read"), std::fs::read(p).expect("read"));
        }
    }

    #[test]
    fn files_of_any_size_round_trip() {
        round_trip(&[0]);
        round_trip(&[10, 0, 3]);
        round_trip(&[CHUNK]);
        round_trip(&[CHUNK - 1, 2, CHUNK * 2 + 5]);
    }

    #[test]
    fn a_changed_cut_or_foreign_backup_is_refused_and_leaves_nothing() {
        let (dir, paths) = setup(&[CHUNK + 100]);
        let key = BackupKey::create(&dir.path().join("key"), &OsRng).expect("key");
        let out = dir.path().join("b.skbk");
        write(&out, &key, KIND_DATABASE, "2026-12-06T00:00:00Z", &[("sekimori.db", &paths[0])], &OsRng).expect("write");
        let good = std::fs::read(&out).expect("read");
        let target = dir.path().join("t");
        std::fs::create_dir(&target).expect("mkdir");
        let try_with = |bytes: &[u8]| {
            let p = dir.path().join("bad.skbk");
            std::fs::write(&p, bytes).expect("write");
            let r = extract(&p, &key, &target);
            assert!(std::fs::read_dir(&target).expect("dir").next().is_none(), "nothing left behind");
            r
        };
        let mut flipped = good.clone();
        let at = flipped.len() - 40;
        flipped[at] ^= 1;
        assert!(matches!(try_with(&flipped), Err(BackupError::Corrupt { .. })));
        // The last chunk cut off: the one before is not flagged last.
        let first_len = good.len() - (16 + 4 + 100);
        assert!(matches!(try_with(&good[..first_len]), Err(BackupError::Corrupt { .. })));
        assert!(matches!(try_with(&good[..good.len() - 1]), Err(BackupError::Corrupt { .. })));
        assert!(matches!(try_with(b"not a backup at all"), Err(BackupError::NotABackup(_))));
        let other = BackupKey::create(&dir.path().join("key2"), &OsRng).expect("key");
        assert!(matches!(extract(&out, &other, &target), Err(BackupError::ForeignKey { .. })));
        extract(&out, &key, &target).expect("the good one restores");
    }
}
