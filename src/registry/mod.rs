//! Finding model files: the catalog ([`catalog`]), the cache ([`store`]),
//! fetching ([`fetch`]), and resolving what the user asked for (a catalog
//! name or a path, or the default for a role) to verified files on disk
//! ([`ModelPaths`]). Loading those files is `crate::model`'s job: this
//! module hands over paths, never loaded models.

pub mod catalog;
pub mod fetch;
pub mod paths;
pub mod store;

use std::path::{Path, PathBuf};

pub use catalog::{Catalog, Check, ModelEntry, ModelFormat, Role};
pub use store::{CacheState, HubRecord, Store};

use crate::format::marian::MarianFiles;
use crate::format::FormatError;
use crate::util::fs::PathError;

pub type Result<T, E = RegistryError> = std::result::Result<T, E>;

/// What can go wrong finding, fetching or verifying a model's files.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Io(#[from] PathError),

    #[error(transparent)]
    Format(#[from] FormatError),

    #[error("unknown model `{name}`: not in the catalog ({known}) and not an existing path to a .gguf file or model directory")]
    UnknownModel { name: String, known: String },

    #[error("model `{name}` has the role `{role}`; this command needs a `{needed}` model")]
    WrongRole {
        name: String,
        role: String,
        needed: String,
    },

    #[error("model `{name}` ({role}) is not cached and the network may not be used")]
    NotCachedOffline { name: String, role: String },

    #[error("{}: size is {actual} bytes, expected {expected}: the file is truncated or incomplete", path.display())]
    SizeMismatch {
        name: String,
        path: PathBuf,
        expected: u64,
        actual: u64,
    },

    #[error("{}: sha256 mismatch: expected {expected}, found {actual}: the file is corrupt or not this model", path.display())]
    ChecksumMismatch {
        name: String,
        path: PathBuf,
        expected: String,
        actual: String,
    },

    #[error("{}: no hash is recorded for this hub-verified file (it was not fetched by dich, or its record is gone)", path.display())]
    Unrecorded { name: String, path: PathBuf },

    #[error("could not fetch `{name}`: every source failed:\n{}", failures.iter().map(|f| format!("  - {f}")).collect::<Vec<_>>().join("\n"))]
    FetchFailed { name: String, failures: Vec<String> },

    #[error("model catalog: {0}")]
    Catalog(String),

    /// A broken invariant between our own components, not a user error.
    #[error("internal error: {0}")]
    Internal(String),
}

impl RegistryError {
    pub fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        RegistryError::Io(PathError::new(path, error))
    }

    /// The catalog model whose files this error is about, for errors that a
    /// fresh pull of that model fixes.
    pub fn model_to_pull(&self) -> Option<&str> {
        match self {
            RegistryError::NotCachedOffline { name, .. }
            | RegistryError::SizeMismatch { name, .. }
            | RegistryError::ChecksumMismatch { name, .. }
            | RegistryError::Unrecorded { name, .. } => Some(name),
            _ => None,
        }
    }
}

/// A model ready to load.
#[derive(Debug, Clone)]
pub struct ModelPaths {
    /// Catalog name; for a local path the file name (GGUF) or the directory
    /// name (embedder, Marian).
    pub name: String,
    /// What the loader opens, by `format`: the GGUF file (`Gguf`); the
    /// weights file, whose directory also holds `config.json` and
    /// `tokenizer.json` (`Embedder`); the model directory (`MarianDir`, its
    /// files listed by [`MarianFiles::find`]).
    pub path: PathBuf,
    /// sha256 of the file at `path`, or of the weights file for `MarianDir`.
    pub sha256: String,
    pub format: ModelFormat,
    /// Present when the model came from the catalog.
    pub entry: Option<ModelEntry>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ResolveOptions {
    /// Never touch the network: a model that is not cached is an error.
    pub offline: bool,
}

/// Resolves `spec` (a catalog name or a path; `None` for the role's default)
/// to verified files, pulling a catalog model that is not cached unless
/// offline.
pub fn resolve(
    store: &Store,
    catalog: &Catalog,
    spec: Option<&str>,
    role: Role,
    opts: ResolveOptions,
) -> Result<ModelPaths> {
    let entry = match spec {
        None => catalog
            .default_for(role)
            .ok_or_else(|| RegistryError::Catalog(format!("no default {role} model")))?,
        Some(s) => match catalog.get(s) {
            Some(e) => e,
            None => return resolve_local(store, catalog, s, role),
        },
    };
    if entry.role != role {
        return Err(RegistryError::WrongRole {
            name: entry.name.clone(),
            role: entry.role.to_string(),
            needed: role.to_string(),
        });
    }
    // An interrupted pull left some files: fetching the rest is safe as
    // long as those present are the right ones.
    let needs_pull = match store.state(entry) {
        CacheState::Cached => false,
        CacheState::Missing => true,
        CacheState::Incomplete => entry.slots().iter().all(|slot| {
            store
                .present(entry, slot)
                .is_none_or(|f| store.verify_file(entry, f, false).is_ok())
        }),
    };
    if needs_pull {
        if opts.offline {
            return Err(RegistryError::NotCachedOffline {
                name: entry.name.clone(),
                role: role.to_string(),
            });
        }
        tracing::info!(
            "model {} ({}) is not cached in {}; fetching it now (`dich models pull {}` does this ahead of time)",
            entry.name,
            progress_size(entry),
            store.home().display(),
            entry.name
        );
        fetch::pull(store, entry)?;
    }
    // A present but wrong file is reported, not silently replaced: the user
    // may have put it there, and `dich models pull` is one command away.
    for slot in entry.slots() {
        match store.present(entry, &slot) {
            Some(f) => store.verify_file(entry, f, false)?,
            None if slot.optional => continue,
            // Reports the missing file.
            None => store.verify_file(entry, slot.files[0], false)?,
        };
    }
    let path = store.entry_path(entry);
    let sha256 = match entry.format {
        ModelFormat::MarianDir => store.sha256(&MarianFiles::find(&path)?.weights, false)?,
        ModelFormat::Gguf | ModelFormat::Embedder => store.sha256(&path, false)?,
    };
    Ok(ModelPaths {
        name: entry.name.clone(),
        sha256,
        path,
        format: entry.format,
        entry: Some(entry.clone()),
    })
}

/// The size to announce before a pull.
pub fn progress_size(entry: &ModelEntry) -> String {
    match entry.total_size() {
        Some(n) => crate::util::progress::human_bytes(n),
        None => "size known once the Hub answers".to_string(),
    }
}

fn resolve_local(store: &Store, catalog: &Catalog, spec: &str, role: Role) -> Result<ModelPaths> {
    let path = Path::new(spec);
    if !path.exists() {
        return Err(RegistryError::UnknownModel {
            name: spec.to_string(),
            known: catalog.names(),
        });
    }
    let (file, format) = match (role, path.is_dir()) {
        (Role::Translator, true) if MarianFiles::is_marian_dir(path) => {
            (path.to_path_buf(), ModelFormat::MarianDir)
        }
        (Role::Translator, true) => (find_gguf_in(path)?, ModelFormat::Gguf),
        (Role::Embedder, true) => (find_embedder_weights(path)?, ModelFormat::Embedder),
        (Role::Translator, false) => (path.to_path_buf(), ModelFormat::Gguf),
        (Role::Embedder, false) => (path.to_path_buf(), ModelFormat::Embedder),
    };
    let sha256 = match format {
        ModelFormat::MarianDir => store.sha256(&MarianFiles::find(path)?.weights, false)?,
        ModelFormat::Gguf | ModelFormat::Embedder => store.sha256(&file, false)?,
    };
    let name = match format {
        // A directory model (weights, config, tokenizer): name it by that.
        ModelFormat::MarianDir => &file,
        ModelFormat::Embedder => file.parent().unwrap_or(path),
        ModelFormat::Gguf => &file,
    }
    .file_name()
    .map(|n| n.to_string_lossy().into_owned())
    .unwrap_or_else(|| spec.to_string());
    Ok(ModelPaths {
        name,
        path: file,
        sha256,
        format,
        entry: None,
    })
}

/// The weights of an embedder directory in the Hub layout.
fn find_embedder_weights(dir: &Path) -> Result<PathBuf> {
    ["model.gguf", "model.safetensors"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            FormatError::InvalidModel {
                path: dir.to_path_buf(),
                message: "an embedder directory needs model.gguf or model.safetensors (plus config.json and tokenizer.json)".into(),
            }
            .into()
        })
}

fn find_gguf_in(dir: &Path) -> Result<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| RegistryError::io(dir, e))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .is_some_and(|x| x.eq_ignore_ascii_case("gguf"))
        })
        .collect();
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(FormatError::InvalidModel {
            path: dir.to_path_buf(),
            message: "the directory holds no .gguf file".into(),
        }
        .into()),
        n => Err(FormatError::InvalidModel {
            path: dir.to_path_buf(),
            message: format!(
                "the directory holds {n} .gguf files ({}); pass the one to use",
                found
                    .iter()
                    .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_and_not_cached_names_the_pull_command() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let catalog = Catalog::builtin().unwrap();
        let err = resolve(
            &store,
            &catalog,
            None,
            Role::Translator,
            ResolveOptions { offline: true },
        )
        .unwrap_err();
        assert!(
            matches!(&err, RegistryError::NotCachedOffline { name, .. } if name == "qwen2.5-coder-1.5b-instruct-q4_k_m"),
            "{err}"
        );
        assert_eq!(
            err.model_to_pull(),
            Some("qwen2.5-coder-1.5b-instruct-q4_k_m")
        );
    }

    #[test]
    fn unknown_name_lists_known_models() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let catalog = Catalog::builtin().unwrap();
        let err = resolve(
            &store,
            &catalog,
            Some("no-such-model"),
            Role::Translator,
            ResolveOptions { offline: true },
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown model `no-such-model`"), "{err}");
        assert!(err.contains("qwen2.5-coder-1.5b-instruct-q4_k_m"), "{err}");
    }

    #[test]
    fn truncated_cached_file_is_reported_with_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let catalog = Catalog::builtin().unwrap();
        let entry = catalog.default_for(Role::Translator).unwrap();
        let path = store.file_path(entry, entry.primary_file());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"GGUF").unwrap();
        let err = resolve(
            &store,
            &catalog,
            None,
            Role::Translator,
            ResolveOptions { offline: true },
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("size is 4 bytes, expected 1117320768"),
            "{err}"
        );
    }

    #[test]
    fn directory_with_one_gguf_resolves_to_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.gguf"), b"x").unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"x").unwrap();
        let store = Store::new(dir.path().join("home"));
        let catalog = Catalog::builtin().unwrap();
        let m = resolve(
            &store,
            &catalog,
            Some(dir.path().to_str().unwrap()),
            Role::Translator,
            ResolveOptions { offline: true },
        )
        .unwrap();
        assert_eq!(m.name, "m.gguf");
        assert!(m.entry.is_none());
    }

    fn marian_dir(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            br#"{"model_type": "marian", "d_model": 512}"#,
        )
        .unwrap();
        for f in files {
            std::fs::write(dir.path().join(f), f.as_bytes()).unwrap();
        }
        dir
    }

    fn resolve_path(dir: &Path) -> Result<ModelPaths> {
        let store = Store::new(dir.join("home"));
        resolve(
            &store,
            &Catalog::builtin().unwrap(),
            Some(dir.to_str().unwrap()),
            Role::Translator,
            ResolveOptions { offline: true },
        )
    }

    #[test]
    fn marian_directory_resolves_to_the_directory() {
        let dir = marian_dir(&[
            "pytorch_model.bin",
            "source.spm",
            "target.spm",
            "vocab.json",
        ]);
        let m = resolve_path(dir.path()).unwrap();
        assert_eq!(m.format, ModelFormat::MarianDir);
        assert_eq!(m.path, dir.path());
        // sha256("pytorch_model.bin"), the weights' bytes.
        let want = crate::util::fs::hex(&<sha2::Sha256 as sha2::Digest>::digest(
            b"pytorch_model.bin",
        ));
        assert_eq!(m.sha256, want);
        let files = MarianFiles::find(&m.path).unwrap();
        assert_eq!(files.weights, dir.path().join("pytorch_model.bin"));
        assert_eq!(files.generation_config, None);
        // safetensors wins when both are there.
        std::fs::write(dir.path().join("model.safetensors"), b"s").unwrap();
        let files = MarianFiles::find(dir.path()).unwrap();
        assert_eq!(files.weights, dir.path().join("model.safetensors"));
    }

    #[test]
    fn marian_directory_missing_a_file_names_it() {
        let dir = marian_dir(&["model.safetensors", "source.spm", "vocab.json"]);
        let err = resolve_path(dir.path()).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "{}: not a usable model directory: target.spm is missing",
                dir.path().display()
            )),
            "{err}"
        );
        let dir = marian_dir(&["source.spm", "target.spm", "vocab.json"]);
        let err = resolve_path(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("the weights file (model.safetensors or pytorch_model.bin) is missing"),
            "{err}"
        );
    }

    #[test]
    fn other_directories_with_a_config_are_searched_for_a_gguf() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.json"), br#"{"model_type": "bert"}"#).unwrap();
        std::fs::write(dir.path().join("m.gguf"), b"x").unwrap();
        let m = resolve_path(dir.path()).unwrap();
        assert_eq!(m.format, ModelFormat::Gguf);
        assert_eq!(m.path, dir.path().join("m.gguf"));
    }

    #[test]
    fn offline_marian_model_not_cached_names_the_pull_command() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let catalog = Catalog::builtin().unwrap();
        let resolve_offline = || {
            resolve(
                &store,
                &catalog,
                Some("opus-mt-vi-en"),
                Role::Translator,
                ResolveOptions { offline: true },
            )
            .unwrap_err()
        };
        let err = resolve_offline();
        assert_eq!(err.model_to_pull(), Some("opus-mt-vi-en"), "{err}");

        // Half a pull (one file, verified): still a pull away, not an error
        // about the missing files.
        let entry = catalog.get("opus-mt-vi-en").unwrap();
        let config = entry.primary_file();
        let path = store.file_path(entry, config);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"abc").unwrap();
        let record = HubRecord {
            size: 3,
            sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".into(),
            etag: "e".into(),
            commit: "c".into(),
        };
        store.write_hub_record(entry, config, record).unwrap();
        assert_eq!(store.state(entry), CacheState::Incomplete);
        let err = resolve_offline();
        assert!(
            matches!(err, RegistryError::NotCachedOffline { .. }),
            "{err}"
        );

        // A present file with other bytes is reported, not replaced.
        std::fs::write(&path, b"abd").unwrap();
        let err = resolve_offline().to_string();
        assert!(err.contains("config.json: sha256 mismatch"), "{err}");
    }
}
