//! Finding model files: the catalog, the cache, fetching, and resolving what
//! the user asked for (`--model NAME|PATH`, or the default for a role) to a
//! verified file on disk. Loading those files is the backend's job.

pub mod catalog;
pub mod charsmap;
pub mod e5s1;
pub mod fetch;
pub mod store;

use std::path::{Path, PathBuf};

pub use catalog::{Catalog, ModelEntry, Role};
pub use store::{CacheState, Store};

use crate::error::{Error, Result};

/// A model file ready to load.
#[derive(Debug, Clone)]
pub struct ModelPaths {
    /// Catalog name, or the file name for a local path.
    pub name: String,
    /// The file to load: a GGUF for causal LMs; for embedders the weights
    /// file, whose directory also holds `config.json` and `tokenizer.json`.
    pub path: PathBuf,
    pub sha256: String,
    /// Present when the model came from the catalog.
    pub entry: Option<ModelEntry>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ResolveOptions {
    /// Never touch the network: a model that is not cached is an error.
    pub offline: bool,
}

/// Resolves `spec` (a catalog name or a path; `None` for the role's default)
/// to a verified file, pulling a catalog model that is not cached unless
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
    if store.state(entry) == CacheState::Missing {
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
    let primary = entry.primary_file();
    for f in &entry.files {
        store.verify_file(entry, f, false)?;
    }
    let path = store.file_path(entry, primary);
    Ok(ModelPaths {
        name: entry.name.clone(),
        sha256: primary.sha256.to_lowercase(),
        path,
        entry: Some(entry.clone()),
    })
}

fn progress_size(entry: &ModelEntry) -> String {
    crate::progress::human_bytes(entry.total_size())
}

fn resolve_local(store: &Store, catalog: &Catalog, spec: &str, role: Role) -> Result<ModelPaths> {
    let path = Path::new(spec);
    if !path.exists() {
        return Err(Error::UnknownModel {
            name: spec.to_string(),
            known: catalog.names(),
        });
    }
    if role == Role::Translator && crate::backend::marian::is_checkpoint_dir(path) {
        // A Marian checkpoint is a directory; it is named by the directory
        // and identified by the hash of its weights.
        let weights = crate::backend::marian::WEIGHT_FILES
            .iter()
            .map(|n| path.join(n))
            .find(|p| p.is_file())
            .ok_or_else(|| Error::InvalidCheckpoint {
                path: path.to_path_buf(),
                message: format!(
                    "no weights: neither {} is present",
                    crate::backend::marian::WEIGHT_FILES.join(" nor ")
                ),
            })?;
        let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        return Ok(ModelPaths {
            name: canonical
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| spec.to_string()),
            sha256: store.sha256(&weights, false)?,
            path: path.to_path_buf(),
            entry: None,
        });
    }
    let file = match (role, path.is_dir()) {
        (Role::Translator, true) => find_gguf_in(path)?,
        (Role::Embedder, true) => find_embedder_weights(path)?,
        (_, false) => path.to_path_buf(),
    };
    let sha256 = store.sha256(&file, false)?;
    let name = match role {
        // An embedder is a directory (weights, config, tokenizer): name it by that.
        Role::Embedder => file.parent().unwrap_or(path),
        Role::Translator => &file,
    }
    .file_name()
    .map(|n| n.to_string_lossy().into_owned())
    .unwrap_or_else(|| spec.to_string());
    Ok(ModelPaths {
        name,
        path: file,
        sha256,
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
}
