//! The model cache on disk: where a catalog model's files live, whether they
//! are there, and whether they are the right bytes.
//!
//! Hashing a 1.1 GB file takes seconds, so a verified file leaves a stamp
//! (path, size, mtime, sha256) under `<home>/stamps/`; a later run trusts the
//! stamp only while size and mtime are unchanged. `dich models verify` always
//! re-hashes.
//!
//! A stamp only caches a hash; the hash a file must have comes from the
//! catalog, or, for hub-verified files, from the record written when the file
//! was fetched and checked against the Hub (`<model dir>/.hub-verified.json`).

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::catalog::{Check, FileEntry, ModelEntry, ModelFormat, Slot};
use super::paths;
use super::{RegistryError, Result};
use crate::util::fs::{hex, write_atomic};

/// Files at least this big get a progress bar while hashing.
const BIG_FILE: u64 = 64 << 20;

#[derive(Debug, Clone)]
pub struct Store {
    home: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheState {
    /// Every needed file is present with the expected size.
    Cached,
    /// Some file is present, but another is missing or has the wrong size
    /// (an interrupted pull).
    Incomplete,
    Missing,
}

impl CacheState {
    pub fn as_str(self) -> &'static str {
        match self {
            CacheState::Cached => "cached",
            CacheState::Incomplete => "incomplete",
            CacheState::Missing => "not cached",
        }
    }
}

/// What a hub-verified file was when it was fetched: the hash the Hub
/// published for it (its etag) and the sha256 of the bytes that matched it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct HubRecord {
    pub size: u64,
    pub sha256: String,
    /// `X-Linked-Etag` (sha256, LFS files) or `ETag` (git blob sha1).
    pub etag: String,
    /// The repository commit the file was fetched at (`X-Repo-Commit`).
    pub commit: String,
}

const HUB_RECORDS: &str = ".hub-verified.json";

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Stamp {
    path: PathBuf,
    size: u64,
    mtime_ns: u128,
    sha256: String,
}

impl Default for Store {
    fn default() -> Self {
        Self::new(paths::dich_home())
    }
}

impl Store {
    pub fn new(home: impl Into<PathBuf>) -> Self {
        Self { home: home.into() }
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    pub fn model_dir(&self, model: &ModelEntry) -> PathBuf {
        self.home.join("models").join(&model.name)
    }

    pub fn file_path(&self, model: &ModelEntry, file: &FileEntry) -> PathBuf {
        self.model_dir(model).join(&file.name)
    }

    /// Scratch space for a model's downloads (kept across interrupted pulls).
    pub fn downloads_dir(&self, model: &ModelEntry) -> PathBuf {
        self.home.join("downloads").join(&model.name)
    }

    pub fn hub_dir(&self) -> PathBuf {
        self.home.join("hub")
    }

    /// The path a loader is given: the model directory for a Marian model,
    /// else the first file.
    pub fn entry_path(&self, model: &ModelEntry) -> PathBuf {
        match model.format {
            ModelFormat::MarianDir => self.model_dir(model),
            ModelFormat::Gguf | ModelFormat::Embedder => {
                self.file_path(model, model.primary_file())
            }
        }
    }

    /// The file of `slot` that is in the cache, if any (the first listed
    /// when several are).
    pub fn present<'a>(&self, model: &ModelEntry, slot: &Slot<'a>) -> Option<&'a FileEntry> {
        slot.files
            .iter()
            .copied()
            .find(|f| self.file_path(model, f).is_file())
    }

    /// The size `file` must have: the catalog's, or the one recorded when a
    /// hub-verified file was fetched (`None` when there is no record).
    pub fn expected_size(&self, model: &ModelEntry, file: &FileEntry) -> Option<u64> {
        match &file.check {
            Check::Pinned { size, .. } => Some(*size),
            Check::Hub => self.hub_record(model, file).map(|r| r.size),
        }
    }

    pub fn state(&self, model: &ModelEntry) -> CacheState {
        let mut any = false;
        let mut all = true;
        for slot in model.slots() {
            match self.present(model, &slot) {
                Some(f) => {
                    any = true;
                    let len = std::fs::metadata(self.file_path(model, f)).map(|m| m.len());
                    if len.ok() != self.expected_size(model, f) {
                        all = false;
                    }
                }
                None => all &= slot.optional,
            }
        }
        match (any, all) {
            (_, true) => CacheState::Cached,
            (true, false) => CacheState::Incomplete,
            (false, false) => CacheState::Missing,
        }
    }

    /// Bytes of the model's files in the cache.
    pub fn size_on_disk(&self, model: &ModelEntry) -> u64 {
        model
            .slots()
            .iter()
            .filter_map(|s| self.present(model, s))
            .filter_map(|f| std::fs::metadata(self.file_path(model, f)).ok())
            .map(|m| m.len())
            .sum()
    }

    fn hub_records(&self, model: &ModelEntry) -> std::collections::BTreeMap<String, HubRecord> {
        std::fs::read(self.model_dir(model).join(HUB_RECORDS))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// What a hub-verified file was when dich fetched and checked it.
    pub fn hub_record(&self, model: &ModelEntry, file: &FileEntry) -> Option<HubRecord> {
        self.hub_records(model).remove(&file.name)
    }

    /// Records a hub-verified file just checked and placed in the cache.
    /// The caller holds the model's lock.
    pub fn write_hub_record(
        &self,
        model: &ModelEntry,
        file: &FileEntry,
        record: HubRecord,
    ) -> Result<()> {
        let mut records = self.hub_records(model);
        records.insert(file.name.clone(), record);
        let path = self.model_dir(model).join(HUB_RECORDS);
        let bytes = serde_json::to_vec_pretty(&records)
            .map_err(|e| RegistryError::Internal(format!("hub records: {e}")))?;
        write_atomic(&path, &bytes).map_err(|e| RegistryError::io(&path, e))
    }

    fn stamp_path(&self, file: &Path) -> PathBuf {
        let key = hex(&Sha256::digest(file.as_os_str().as_encoded_bytes()));
        self.home
            .join("stamps")
            .join(format!("{}.json", &key[..32]))
    }

    /// sha256 of `path`, from a still-valid stamp when there is one.
    pub fn sha256(&self, path: &Path, force: bool) -> Result<String> {
        let path = std::fs::canonicalize(path).map_err(|e| RegistryError::io(path, e))?;
        let md = std::fs::metadata(&path).map_err(|e| RegistryError::io(&path, e))?;
        let mtime_ns = mtime_ns(&md);
        let stamp_path = self.stamp_path(&path);
        if !force {
            if let Some(stamp) = std::fs::read(&stamp_path)
                .ok()
                .and_then(|b| serde_json::from_slice::<Stamp>(&b).ok())
            {
                if stamp.path == path && stamp.size == md.len() && stamp.mtime_ns == mtime_ns {
                    return Ok(stamp.sha256);
                }
            }
        }
        let sha256 = sha256_file(&path, md.len())?;
        self.write_stamp(&path, &sha256);
        Ok(sha256)
    }

    /// Records that `path`, as it is now, has this sha256 (known from hashing
    /// it while it was written). A stamp is only a shortcut: failing to write
    /// one costs time later, not correctness.
    pub fn write_stamp(&self, path: &Path, sha256: &str) {
        let Ok(path) = std::fs::canonicalize(path) else {
            return;
        };
        let Ok(md) = std::fs::metadata(&path) else {
            return;
        };
        let stamp = Stamp {
            size: md.len(),
            mtime_ns: mtime_ns(&md),
            sha256: sha256.to_string(),
            path,
        };
        let stamp_path = self.stamp_path(&stamp.path);
        if let Ok(bytes) = serde_json::to_vec_pretty(&stamp) {
            if let Err(e) = write_atomic(&stamp_path, &bytes) {
                tracing::debug!("could not write hash stamp {}: {e}", stamp_path.display());
            }
        }
    }

    /// Checks that a catalog file is present with the right size and sha256:
    /// the catalog's, or for a hub-verified file the one recorded when it
    /// was fetched.
    pub fn verify_file(
        &self,
        model: &ModelEntry,
        file: &FileEntry,
        force: bool,
    ) -> Result<PathBuf> {
        let path = self.file_path(model, file);
        let md = std::fs::metadata(&path).map_err(|e| RegistryError::io(&path, e))?;
        let (size, sha256) = match &file.check {
            Check::Pinned { size, sha256 } => (*size, sha256.clone()),
            Check::Hub => match self.hub_record(model, file) {
                Some(r) => (r.size, r.sha256),
                None => {
                    return Err(RegistryError::Unrecorded {
                        name: model.name.clone(),
                        path,
                    })
                }
            },
        };
        if md.len() != size {
            return Err(RegistryError::SizeMismatch {
                name: model.name.clone(),
                path,
                expected: size,
                actual: md.len(),
            });
        }
        let actual = self.sha256(&path, force)?;
        if !actual.eq_ignore_ascii_case(&sha256) {
            return Err(RegistryError::ChecksumMismatch {
                name: model.name.clone(),
                path,
                expected: sha256,
                actual,
            });
        }
        Ok(path)
    }

    /// Holds an exclusive lock on the model's directory for the guard's
    /// lifetime, so two processes never write the same model at once.
    pub fn lock(&self, model: &ModelEntry) -> Result<File> {
        let dir = self.model_dir(model);
        std::fs::create_dir_all(&dir).map_err(|e| RegistryError::io(&dir, e))?;
        let path = dir.join(".lock");
        let f = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| RegistryError::io(&path, e))?;
        match f.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                tracing::info!(
                    "waiting for another dich process that is fetching {} (it holds {})",
                    model.name,
                    path.display()
                );
                f.lock().map_err(|e| RegistryError::io(&path, e))?;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(RegistryError::io(&path, e)),
        }
        Ok(f)
    }
}

fn mtime_ns(md: &std::fs::Metadata) -> u128 {
    md.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// Streams a file through sha256, with a bar for big files.
pub fn sha256_file(path: &Path, len: u64) -> Result<String> {
    let mut f = File::open(path).map_err(|e| RegistryError::io(path, e))?;
    let pb = if len >= BIG_FILE {
        tracing::info!(
            "verifying sha256 of {} ({})",
            path.display(),
            crate::util::progress::human_bytes(len)
        );
        crate::util::progress::bytes(len, "sha256")
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| RegistryError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        pb.inc(n as u64);
    }
    pb.finish_and_clear();
    Ok(hex(&hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_bytes_and_stamp_invalidation() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("home"));
        let f = dir.path().join("a.bin");
        std::fs::write(&f, b"abc").unwrap();
        let want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(store.sha256(&f, false).unwrap(), want);
        // Served from the stamp.
        assert_eq!(store.sha256(&f, false).unwrap(), want);
        // A changed file (different size) is hashed again, not trusted from the stamp.
        std::fs::write(&f, b"abcd").unwrap();
        assert_ne!(store.sha256(&f, false).unwrap(), want);
    }

    #[test]
    fn hub_verified_files_are_checked_against_their_record() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let catalog = crate::registry::Catalog::builtin().unwrap();
        let m = catalog.get("opus-mt-vi-en").unwrap();
        let vocab = m.files.iter().find(|f| f.name == "vocab.json").unwrap();
        let path = store.file_path(m, vocab);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"abc").unwrap();
        // Present but never fetched by dich: nothing to check it against.
        let err = store.verify_file(m, vocab, false).unwrap_err().to_string();
        assert!(err.contains("no hash is recorded"), "{err}");

        let sha = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let record = HubRecord {
            size: 3,
            sha256: sha.into(),
            etag: "e".into(),
            commit: "c".into(),
        };
        store.write_hub_record(m, vocab, record.clone()).unwrap();
        assert_eq!(store.hub_record(m, vocab), Some(record));
        store.verify_file(m, vocab, true).unwrap();
        assert_eq!(store.expected_size(m, vocab), Some(3));
        // The other files are missing: the model is not complete.
        assert_eq!(store.state(m), CacheState::Incomplete);

        // Same size, other bytes: the stamp is stale and the record catches it.
        std::fs::write(&path, b"abd").unwrap();
        let err = store.verify_file(m, vocab, false).unwrap_err().to_string();
        assert!(
            err.contains(&format!("sha256 mismatch: expected {sha}")),
            "{err}"
        );
        std::fs::write(&path, b"abcd").unwrap();
        let err = store.verify_file(m, vocab, false).unwrap_err().to_string();
        assert!(err.contains("size is 4 bytes, expected 3"), "{err}");
    }
}
