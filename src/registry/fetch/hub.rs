//! Fetching one file from the Hugging Face Hub through hf-hub (ureq), with a
//! connect preflight, and checking it against the hash (etag) the Hub published.

use std::fs::File;
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{
    check_pinned, commit, copy_hashed, create_partial, Failure, FetchConfig, SourceResult,
    CONNECT_TIMEOUT,
};
use crate::registry::catalog::{Check, FileEntry};
use crate::registry::store::{HubRecord, Store};
use crate::util::fs::hex;
use crate::util::progress;

/// `host:port` of an http(s) URL.
fn host_port(url: &str) -> SourceResult<String> {
    let (default_port, rest) = if let Some(r) = url.strip_prefix("https://") {
        (443, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (80, r)
    } else {
        return Err(format!("endpoint `{url}` is not an http(s) URL"));
    };
    let authority = rest.split('/').next().unwrap_or(rest);
    if authority.is_empty() {
        return Err(format!("endpoint `{url}` has no host"));
    }
    Ok(if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:{default_port}")
    })
}

/// hf-hub has no connect timeout of its own: check reachability first so an
/// unreachable hub fails in seconds, not minutes.
fn preflight(endpoint: &str) -> SourceResult<()> {
    let hp = host_port(endpoint)?;
    let addrs: Vec<_> = hp
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {hp}: {e}"))?
        .collect();
    let mut last = String::from("no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(_) => return Ok(()),
            Err(e) => last = format!("cannot connect to {hp} ({addr}): {e}"),
        }
    }
    Err(last)
}

/// hf-hub's progress callbacks: the first `init` carries the size the Hub
/// announced, which is when a person learns how big the download is.
struct HubProgress {
    bar: indicatif::ProgressBar,
    what: String,
    announced: bool,
}

impl hf_hub::api::Progress for HubProgress {
    fn init(&mut self, size: usize, _filename: &str) {
        if !self.announced {
            tracing::info!(
                "downloading {} ({})",
                self.what,
                progress::human_bytes(size as u64)
            );
            self.announced = true;
        }
        self.bar.set_length(size as u64);
    }
    fn update(&mut self, size: usize) {
        self.bar.inc(size as u64);
    }
    fn finish(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// A file fetched from the Hub and copied into its partial file, with what
/// the Hub said about it.
pub(super) struct HubFile {
    size: u64,
    sha256: String,
    /// Git blob id of the bytes, computed when the etag is one.
    git_sha1: Option<String>,
    /// The hash the Hub published: hf-hub names its blob by it.
    etag: String,
    commit: String,
}

/// Where hf-hub put a download: `snapshots/<commit>/<file>`, a link to
/// `blobs/<etag>`.
struct HubCached {
    pointer: PathBuf,
    blob: PathBuf,
    etag: String,
    commit: String,
}

impl HubCached {
    fn locate(pointer: PathBuf, remote: &str) -> SourceResult<Self> {
        let blob =
            std::fs::canonicalize(&pointer).map_err(|e| format!("{}: {e}", pointer.display()))?;
        let name_of = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
        let mut snapshot = pointer.clone();
        for _ in remote.split('/') {
            snapshot.pop();
        }
        match (
            name_of(&blob),
            blob.parent().and_then(name_of).as_deref(),
            name_of(&snapshot),
        ) {
            (Some(etag), Some("blobs"), Some(commit)) => Ok(Self {
                pointer,
                blob,
                etag,
                commit,
            }),
            _ => Err(format!(
                "cannot tell the Hub's hash for {} from hf-hub's cache layout",
                pointer.display()
            )),
        }
    }

    /// The verified copy is ours: drop hf-hub's so it is not kept twice.
    fn remove(&self) {
        for p in [&self.pointer, &self.blob, &self.blob.with_extension("lock")] {
            let _ = std::fs::remove_file(p);
        }
    }
}

pub(super) fn fetch_hub(
    store: &Store,
    cfg: &FetchConfig,
    repo: &str,
    revision: &str,
    remote: &str,
    partial: &Path,
) -> std::result::Result<HubFile, Failure> {
    preflight(&cfg.hub_endpoint)?;
    let api = hf_hub::api::sync::ApiBuilder::from_cache(hf_hub::Cache::new(store.hub_dir()))
        .with_endpoint(cfg.hub_endpoint.clone())
        .with_token(cfg.hub_token.clone())
        .with_progress(false)
        .build()
        .map_err(|e| format!("hub client: {e}"))?;
    let hub_repo = hf_hub::Repo::with_revision(
        repo.to_string(),
        hf_hub::RepoType::Model,
        revision.to_string(),
    );
    let progress = HubProgress {
        bar: progress::bytes(0, format!("download {remote}")),
        what: format!("{repo}@{revision}/{remote}"),
        announced: false,
    };
    let pointer = api
        .repo(hub_repo)
        .download_with_progress(remote, progress)
        .map_err(|e| hub_failure(&e))?;
    let cached = HubCached::locate(pointer, remote)?;
    let copied = copy_from_hub(&cached, partial);
    cached.remove();
    copied
}

/// An hf-hub error as a reason; a 404 means the repository lacks the file.
fn hub_failure(e: &hf_hub::api::sync::ApiError) -> Failure {
    use hf_hub::api::sync::ApiError;
    match e {
        ApiError::RequestError(re) => match re.as_ref() {
            ureq::Error::Status(404, resp) => Failure::Absent(match resp.header("x-error-code") {
                Some(code) => format!("not in the repository (HTTP 404, {code})"),
                None => "not in the repository (HTTP 404)".to_string(),
            }),
            _ => Failure::Failed(format!("download failed: {e}")),
        },
        ApiError::IoError(_) => Failure::Failed(format!(
            "download failed: {e} (the next pull resumes where this one stopped)"
        )),
        _ => Failure::Failed(format!("download failed: {e}")),
    }
}

/// Copies hf-hub's blob into `partial`, hashing on the way: sha256 always,
/// the git blob sha1 too when the etag is one.
fn copy_from_hub(cached: &HubCached, partial: &Path) -> std::result::Result<HubFile, Failure> {
    let src = File::open(&cached.blob).map_err(|e| format!("{}: {e}", cached.blob.display()))?;
    let size = src
        .metadata()
        .map_err(|e| format!("{}: {e}", cached.blob.display()))?
        .len();
    let mut git = (cached.etag.len() == 40).then(|| {
        let mut h = sha1::Sha1::new();
        h.update(format!("blob {size}\0").as_bytes());
        h
    });
    let mut out = create_partial(partial)?;
    let mut hasher = Sha256::new();
    let name = cached
        .pointer
        .file_name()
        .unwrap_or_default()
        .to_string_lossy();
    let pb = progress::bytes(size, format!("copy {name}"));
    copy_hashed(src, &mut out, &mut hasher, git.as_mut(), &pb)
        .map_err(|e| format!("copying {}: {e}", cached.blob.display()))?;
    out.sync_all()
        .map_err(|e| format!("{}: {e}", partial.display()))?;
    pb.finish_and_clear();
    Ok(HubFile {
        size,
        sha256: hex(&hasher.finalize()),
        git_sha1: git.map(|h| hex(&h.finalize())),
        etag: cached.etag.clone(),
        commit: cached.commit.clone(),
    })
}

/// Checks a file fetched from the Hub into `partial` (against the catalog,
/// or against the Hub's hash for a hub-verified file) and renames it into
/// place. Returns its sha256 and, for a hub-verified file, what to record.
pub(super) fn check_and_commit(
    file: &FileEntry,
    hub: HubFile,
    partial: &Path,
    dest: &Path,
) -> std::result::Result<(String, Option<HubRecord>), Failure> {
    let record = match &file.check {
        Check::Pinned { size, sha256 } => {
            check_pinned(*size, sha256, partial, &hub.sha256)?;
            None
        }
        Check::Hub => {
            check_hub(&hub)?;
            Some(HubRecord {
                size: hub.size,
                sha256: hub.sha256.clone(),
                etag: hub.etag,
                commit: hub.commit,
            })
        }
    };
    commit(partial, dest)?;
    Ok((hub.sha256, record))
}

/// The hash the Hub published for the file against the bytes received: the
/// etag of an LFS file is the sha256 of its content; that of a file kept in
/// git is its git blob id, sha1 of `blob <len>\0` and the content.
fn check_hub(hub: &HubFile) -> SourceResult<()> {
    let is_hex = |n: usize| hub.etag.len() == n && hub.etag.bytes().all(|b| b.is_ascii_hexdigit());
    let (kind, expected, got) = if is_hex(64) {
        ("sha256", hub.etag.to_lowercase(), &hub.sha256)
    } else if let (true, Some(sha1)) = (is_hex(40), &hub.git_sha1) {
        ("git blob sha1", hub.etag.to_lowercase(), sha1)
    } else {
        return Err(format!(
            "the Hub published no hash dich can check this file against (etag `{}`)",
            hub.etag
        ));
    };
    if &expected != got {
        return Err(format!(
            "{kind} mismatch: the Hub says {expected}, the {} bytes received hash to {got}",
            hub.size
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_port_parses_endpoints() {
        assert_eq!(
            host_port("https://huggingface.co").unwrap(),
            "huggingface.co:443"
        );
        assert_eq!(
            host_port("http://localhost:8080/x").unwrap(),
            "localhost:8080"
        );
        assert!(host_port("ftp://x").is_err());
        assert!(host_port("https://").is_err());
    }

    #[test]
    fn preflight_reports_an_unreachable_endpoint() {
        // Port 9 on loopback: nothing listens there.
        let err = preflight("http://127.0.0.1:9").unwrap_err();
        assert!(err.contains("cannot connect to 127.0.0.1:9"), "{err}");
    }

    fn hub_file(bytes: &[u8], etag: &str) -> HubFile {
        let mut git = sha1::Sha1::new();
        git.update(format!("blob {}\0", bytes.len()).as_bytes());
        git.update(bytes);
        HubFile {
            size: bytes.len() as u64,
            sha256: hex(&Sha256::digest(bytes)),
            git_sha1: (etag.len() == 40).then(|| hex(&git.finalize())),
            etag: etag.into(),
            commit: "c".into(),
        }
    }

    #[test]
    fn hub_hashes_are_sha256_for_lfs_and_git_blob_sha1_otherwise() {
        // `printf 'hello\n' | git hash-object --stdin` and `| sha256sum`.
        let git = "ce013625030ba8dba906f756967f9e9ca394464a";
        let sha = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";
        check_hub(&hub_file(b"hello\n", git)).unwrap();
        check_hub(&hub_file(b"hello\n", sha)).unwrap();
        check_hub(&hub_file(b"hello\n", &sha.to_uppercase())).unwrap();
        let err = check_hub(&hub_file(b"hellO\n", sha)).unwrap_err();
        assert!(
            err.starts_with(&format!(
                "sha256 mismatch: the Hub says {sha}, the 6 bytes received hash to "
            )),
            "{err}"
        );
        let err = check_hub(&hub_file(b"hellO\n", git)).unwrap_err();
        assert!(
            err.starts_with(&format!("git blob sha1 mismatch: the Hub says {git}")),
            "{err}"
        );
        let err = check_hub(&hub_file(b"hello\n", "W/\"abc\"")).unwrap_err();
        assert!(err.contains("no hash dich can check"), "{err}");
    }
}
