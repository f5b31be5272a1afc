//! Finding model files: the catalog, the cache, fetching, and resolving what
//! the user asked for (`--model NAME|PATH`, or the default for a role) to a
//! verified file on disk. Loading those files is the backend's job.

pub mod catalog;
pub mod charsmap;
pub mod e5s1;
pub mod fetch;
pub mod store;

use std::path::{Path, PathBuf};

pub use catalog::{Catalog, Check, ModelEntry, ModelFormat, Role};
pub use store::{CacheState, HubRecord, Store};

use crate::error::{Error, Result};

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

/// The files of a Marian model directory in the Hugging Face layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarianFiles {
    pub config: PathBuf,
    /// `model.safetensors`, else `pytorch_model.bin`.
    pub weights: PathBuf,
    pub source_spm: PathBuf,
    pub target_spm: PathBuf,
    pub vocab: PathBuf,
    /// `generation_config.json`, when there is one.
    pub generation_config: Option<PathBuf>,
}

impl MarianFiles {
    /// Weights file names, in order of preference.
    pub const WEIGHTS: [&'static str; 2] = ["model.safetensors", "pytorch_model.bin"];

    /// Whether `dir` holds a `config.json` whose `model_type` is `marian`.
    pub fn is_marian_dir(dir: &Path) -> bool {
        std::fs::read(dir.join("config.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .is_some_and(|c| c["model_type"] == "marian")
    }

    /// The files of `dir`; an error names the directory and the first
    /// missing file.
    pub fn find(dir: &Path) -> Result<Self> {
        let missing = |what: &str| {
            Error::InvalidModelDir {
            path: dir.to_path_buf(),
            message: format!(
                "{what} is missing (a Marian model directory holds config.json, model.safetensors or pytorch_model.bin, source.spm, target.spm and vocab.json)"
            ),
        }
        };
        let need = |name: &str| {
            let p = dir.join(name);
            if p.is_file() {
                Ok(p)
            } else {
                Err(missing(name))
            }
        };
        Ok(Self {
            config: need("config.json")?,
            weights: Self::WEIGHTS
                .iter()
                .map(|n| dir.join(n))
                .find(|p| p.is_file())
                .ok_or_else(|| {
                    missing("the weights file (model.safetensors or pytorch_model.bin)")
                })?,
            source_spm: need("source.spm")?,
            target_spm: need("target.spm")?,
            vocab: need("vocab.json")?,
            generation_config: Some(dir.join("generation_config.json")).filter(|p| p.is_file()),
        })
    }
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
            .ok_or_else(|| Error::Catalog(format!("no default {role} model")))?,
        Some(s) => match catalog.get(s) {
            Some(e) => e,
            None => return resolve_local(store, catalog, s, role),
        },
    };
    if entry.role != role {
        return Err(Error::WrongRole {
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
            return Err(Error::NotCachedOffline {
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
        Some(n) => crate::progress::human_bytes(n),
        None => "size known once the Hub answers".to_string(),
    }
}

fn resolve_local(store: &Store, catalog: &Catalog, spec: &str, role: Role) -> Result<ModelPaths> {
    let path = Path::new(spec);
    if !path.exists() {
        return Err(Error::UnknownModel {
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
        .ok_or_else(|| Error::InvalidModel {
            path: dir.to_path_buf(),
            message: "an embedder directory needs model.gguf or model.safetensors (plus config.json and tokenizer.json)".into(),
        })
}

fn find_gguf_in(dir: &Path) -> Result<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
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
        0 => Err(Error::InvalidModel {
            path: dir.to_path_buf(),
            message: "the directory holds no .gguf file".into(),
        }),
        n => Err(Error::InvalidModel {
            path: dir.to_path_buf(),
            message: format!(
                "the directory holds {n} .gguf files ({}); pass the one to use",
                found
                    .iter()
                    .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
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
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("dich models pull qwen2.5-coder-1.5b-instruct-q4_k_m"),
            "{err}"
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
        let want = store::hex(&<sha2::Sha256 as sha2::Digest>::digest(
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
            .to_string()
        };
        let err = resolve_offline();
        assert!(
            err.contains("run `dich models pull opus-mt-vi-en` first"),
            "{err}"
        );

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
        assert!(err.contains("is not cached and --offline is set"), "{err}");

        // A present file with other bytes is reported, not replaced.
        std::fs::write(&path, b"abd").unwrap();
        let err = resolve_offline();
        assert!(err.contains("config.json: sha256 mismatch"), "{err}");
    }
}
