//! Shared test helpers: the real default model (fetched through dich's own
//! pull path when it is not cached) and the seed articles.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use dich::backend::LoadedLm;
use dich::models::{self, Catalog, ModelPaths, ResolveOptions, Role, Store};

pub const SEED_VI: &str = include_str!("../../seeds/vi-vtc-hanoi-convention-signing.txt");
pub const SEED_EN: &str = include_str!("../../seeds/en-sggp-global-shield.txt");

pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The default translator, verified; pulled on first use (tests never skip
/// for a missing model).
pub fn default_model() -> &'static ModelPaths {
    static MODEL: OnceLock<ModelPaths> = OnceLock::new();
    MODEL.get_or_init(|| {
        let catalog = Catalog::builtin().expect("builtin catalog");
        models::resolve(
            &Store::default(),
            &catalog,
            None,
            Role::Translator,
            ResolveOptions { offline: false },
        )
        .unwrap_or_else(|e| panic!("cannot get the default model: {e}"))
    })
}

/// The default translator loaded once per test binary.
pub fn loaded() -> &'static LoadedLm {
    static LM: OnceLock<LoadedLm> = OnceLock::new();
    LM.get_or_init(|| {
        LoadedLm::from_gguf(&default_model().path, &candle_core::Device::Cpu)
            .unwrap_or_else(|e| panic!("cannot load the default model: {e}"))
    })
}
