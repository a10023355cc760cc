//! Readiness against a real full disk: the built binary's data directory on a small tmpfs
//! (mounted by the test, which runs as root like CI), filled to the last byte. `/readyz`
//! says not ready while it is full, `/healthz` (liveness) still answers, and readiness
//! comes back when space does. (`/healthz` alone said 200 while every ingest failed.)

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

mod common;
use common::start_with_env;

/// A tmpfs mounted at a fresh folder, unmounted on drop (the folder then goes with its
/// temporary parent).
struct Tmpfs {
    at: PathBuf,
    _parent: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let at = dir.path().join("disk");
        std::fs::create_dir(&at).expect("mkdir");
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&at)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "this test mounts a small tmpfs and needs root (as CI has): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs { at, _parent: dir }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.at).status();
    }
}

fn fill(path: &Path) {
    let mut f = std::fs::File::create(path).expect("create filler");
    let block = vec![0u8; 64 * 1024];
    while f.write_all(&block).is_ok() {}
    let _ = f.flush();
}

async fn status(url: &str, path: &str) -> u16 {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client");
    client.get(format!("{url}{path}")).send().await.expect("answer").status().as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_follows_the_disk_and_healthz_stays_live() {
    let disk = Tmpfs::mount("48m");
    let server = start_with_env(&disk.at.join("data"), &[("SEKIMORI_STORAGE__MIN_FREE_MIB", "4")]).await;
    assert_eq!(status(&server.url, "/readyz").await, 200);
    let filler = disk.at.join("filler");
    fill(&filler);
    assert_eq!(status(&server.url, "/readyz").await, 503, "a full disk is not ready");
    assert_eq!(status(&server.url, "/healthz").await, 200, "the process is alive all the same");
    std::fs::remove_file(&filler).expect("free the disk");
    assert_eq!(status(&server.url, "/readyz").await, 200, "ready again once there is room");
    drop(server);
}
