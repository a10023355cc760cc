//! Where backups and audit archives go: a local folder, or `s3://bucket/prefix` on an
//! S3-compatible object store (`[backup.s3]`). Each holds files by name; a file appears
//! whole or not at all (a folder gets `NAME.partial`, fsynced, then renamed; S3's PUT is
//! atomic).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;

use super::s3::{S3Client, S3Config};

/// Why a destination cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    /// An `s3://` destination without `[backup.s3]`.
    #[error("{}: an S3 destination needs [backup.s3]", .0.display())]
    NoS3Settings(PathBuf),
    /// Not a bucket name S3 accepts.
    #[error("{}: {bucket:?} is not an S3 bucket name", spec.display())]
    BadBucket {
        /// The destination as written.
        spec: PathBuf,
        /// The bucket part.
        bucket: String,
    },
}

/// One destination.
#[derive(Debug, Clone)]
pub enum Destination {
    /// A local folder (created 0700).
    Dir(PathBuf),
    /// A bucket and key prefix (empty or ending in `/`).
    S3 {
        /// The client.
        client: Arc<S3Client>,
        /// The bucket.
        bucket: String,
        /// The key prefix.
        prefix: String,
    },
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Destination::Dir(p) => write!(f, "{}", p.display()),
            Destination::S3 { bucket, prefix, .. } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// Whether `spec` names an S3 destination.
pub fn is_s3(spec: &Path) -> bool {
    spec.to_str().is_some_and(|s| s.starts_with("s3://"))
}

impl Destination {
    /// A folder, or `s3://bucket[/prefix]` reached with `s3` (what is wrong otherwise).
    pub fn parse(spec: &Path, s3: Option<&Arc<S3Client>>) -> Result<Self, DestinationError> {
        let Some(rest) = spec.to_str().and_then(|s| s.strip_prefix("s3://")) else {
            return Ok(Destination::Dir(spec.to_path_buf()));
        };
        let client = s3.ok_or_else(|| DestinationError::NoS3Settings(spec.to_path_buf()))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid = (3..=63).contains(&bucket.len())
            && bucket.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !valid {
            return Err(DestinationError::BadBucket { spec: spec.to_path_buf(), bucket: bucket.to_owned() });
        }
        let prefix = match prefix.trim_end_matches('/') {
            "" => String::new(),
            p => format!("{p}/"),
        };
        Ok(Destination::S3 { client: client.clone(), bucket: bucket.to_owned(), prefix })
    }

    /// Where `name` is, for messages and the audit event.
    pub fn location(&self, name: &str) -> String {
        match self {
            Destination::Dir(d) => d.join(name).display().to_string(),
            Destination::S3 { bucket, prefix, .. } => format!("s3://{bucket}/{prefix}{name}"),
        }
    }

    /// Stores `file` as `name`; `name` appears whole or not at all.
    pub async fn put(&self, name: &str, file: &Path) -> anyhow::Result<()> {
        match self {
            Destination::Dir(d) => {
                super::private_dir(d)?;
                let (partial, done) = (d.join(format!("{name}.partial")), d.join(name));
                let _ = std::fs::remove_file(&partial);
                let from = file.to_path_buf();
                let to = partial.clone();
                tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                    let mut src = std::fs::File::open(&from)?;
                    let mut opts = std::fs::OpenOptions::new();
                    opts.write(true).create_new(true);
                    #[cfg(unix)]
                    {
                        use std::os::unix::fs::OpenOptionsExt;
                        opts.mode(0o600);
                    }
                    let mut dst = opts.open(&to)?;
                    std::io::copy(&mut src, &mut dst)?;
                    dst.sync_all()
                })
                .await?
                .with_context(|| format!("cannot write {}", partial.display()))?;
                std::fs::rename(&partial, &done).with_context(|| format!("cannot name {}", done.display()))?;
                Ok(())
            }
            Destination::S3 { client, bucket, prefix } => {
                Ok(client.put_file(bucket, &format!("{prefix}{name}"), file).await?)
            }
        }
    }

    /// Stores `file` as `name`, then reads what was stored back into the new folder `trial`
    /// and runs `check` on that copy; a copy that does not check is deleted again. `trial`
    /// is removed afterwards.
    pub async fn put_checked<T>(
        &self,
        name: &str,
        file: &Path,
        trial: &Path,
        check: impl AsyncFnOnce(&Path) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        self.put(name, file).await.with_context(|| format!("{self}: cannot store {name}"))?;
        super::private_dir(trial)?;
        let copy = trial.join(name);
        let checked = match self.fetch(name, &copy).await {
            Ok(()) => check(&copy).await,
            Err(e) => Err(e),
        };
        let _ = std::fs::remove_dir_all(trial);
        match checked {
            Ok(t) => Ok(t),
            Err(e) => {
                let _ = self.delete(name).await;
                Err(e.context(format!("{}: what was stored does not check; removed", self.location(name))))
            }
        }
    }

    /// Copies `name` into the new file `to`.
    pub async fn fetch(&self, name: &str, to: &Path) -> anyhow::Result<()> {
        match self {
            Destination::Dir(d) => {
                let from = d.join(name);
                std::fs::copy(&from, to).with_context(|| format!("cannot read {}", from.display()))?;
                Ok(())
            }
            Destination::S3 { client, bucket, prefix } => {
                Ok(client.get_to_file(bucket, &format!("{prefix}{name}"), to).await?)
            }
        }
    }

    /// The names of the files held whose name starts with `start` and ends with `end`.
    pub async fn list(&self, start: &str, end: &str) -> anyhow::Result<Vec<String>> {
        let mut names = match self {
            Destination::Dir(d) => match std::fs::read_dir(d) {
                Ok(dir) => dir
                    .filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .filter(|n| n.starts_with(start) && n.ends_with(end))
                    .collect(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(e) => return Err(anyhow::anyhow!("{}: {e}", d.display())),
            },
            Destination::S3 { client, bucket, prefix } => client
                .list(bucket, &format!("{prefix}{start}"))
                .await?
                .into_iter()
                .filter_map(|o| o.key.strip_prefix(prefix.as_str()).map(str::to_owned))
                .filter(|n| !n.contains('/') && n.ends_with(end))
                .collect(),
        };
        names.sort();
        Ok(names)
    }

    /// Deletes `name`.
    pub async fn delete(&self, name: &str) -> anyhow::Result<()> {
        match self {
            Destination::Dir(d) => {
                let p = d.join(name);
                std::fs::remove_file(&p).with_context(|| format!("cannot delete {}", p.display()))
            }
            Destination::S3 { client, bucket, prefix } => Ok(client.delete(bucket, &format!("{prefix}{name}")).await?),
        }
    }

    /// A folder to put scratch files in near this destination, if it is local.
    pub fn local_dir(&self) -> Option<&Path> {
        match self {
            Destination::Dir(d) => Some(d),
            Destination::S3 { .. } => None,
        }
    }
}

/// The destinations named by `specs`, with one S3 client for `s3` when any needs it.
pub fn resolve(specs: &[PathBuf], s3: Option<&S3Config>) -> anyhow::Result<Vec<Destination>> {
    let client = match (s3, specs.iter().any(|s| is_s3(s))) {
        (Some(cfg), true) => Some(Arc::new(S3Client::new(cfg, Arc::new(sekimori_core::SystemClock))?)),
        _ => None,
    };
    Ok(specs.iter().map(|s| Destination::parse(s, client.as_ref())).collect::<Result<_, _>>()?)
}
