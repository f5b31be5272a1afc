//! What several commands share: finding and loading models, writing
//! output, and the progress bar over a document's segments.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use super::args::GlobalArgs;
use dich::model::embedder::BertEmbedder;
use dich::registry::{self, Catalog, ModelPaths, ResolveOptions, Role, Store};
use dich::translate::ProgressEvent;
use dich::types::ModelRef;

/// A translation model of any kind (GGUF chat model or Marian checkpoint),
/// fetched if it is a catalog model that is not cached (unless offline).
pub fn resolve_translator(g: &GlobalArgs, spec: Option<&str>) -> Result<ModelPaths> {
    resolve(g, spec, Role::Translator)
}

pub fn resolve_embedder(g: &GlobalArgs, spec: Option<&str>) -> Result<ModelPaths> {
    resolve(g, spec, Role::Embedder)
}

fn resolve(g: &GlobalArgs, spec: Option<&str>, role: Role) -> Result<ModelPaths> {
    Ok(registry::resolve(
        &Store::default(),
        &Catalog::builtin()?,
        spec,
        role,
        ResolveOptions { offline: g.offline },
    )?)
}

pub fn load_embedder(paths: &ModelPaths, device: &candle_core::Device) -> Result<BertEmbedder> {
    let dir = paths.path.parent().unwrap_or(Path::new("."));
    Ok(BertEmbedder::load(dir, device)?)
}

pub fn model_ref(paths: &ModelPaths) -> ModelRef {
    ModelRef {
        name: paths.name.clone(),
        sha256: paths.sha256.clone(),
    }
}

/// Data goes to stdout, or atomically to a file.
pub fn emit(text: &str, output: Option<&Path>) -> Result<()> {
    match output {
        Some(path) => dich::util::fs::write_atomic(path, text.as_bytes())
            .with_context(|| format!("writing {}", path.display())),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
            Ok(())
        }
    }
}

/// A progress bar over segments, created when their number is known.
pub struct SegmentBar {
    label: String,
    bar: std::sync::Mutex<Option<indicatif::ProgressBar>>,
}

impl SegmentBar {
    pub fn new(label: String) -> Self {
        Self {
            label,
            bar: std::sync::Mutex::new(None),
        }
    }

    pub fn event(&self, ev: ProgressEvent) {
        let mut bar = self.bar.lock().unwrap_or_else(|p| p.into_inner());
        match ev {
            ProgressEvent::Start(n) => {
                *bar = Some(dich::util::progress::items(n as u64, self.label.clone()));
            }
            ProgressEvent::Segment => {
                if let Some(b) = bar.as_ref() {
                    b.inc(1);
                }
            }
        }
    }

    pub fn finish(&self) {
        if let Some(b) = self.bar.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            b.finish_and_clear();
        }
    }
}

/// Loads the embedder as the candidates' quality estimator when
/// `--select` needs one (`qe`, `mbr+qe`) and there are several candidates.
pub fn attach_qe(
    g: &GlobalArgs,
    embedder: Option<&str>,
    device_spec: &str,
    opts: &mut dich::translate::TranslateOptions,
) -> Result<()> {
    let c = &opts.candidates;
    if c.n > 1 && c.method.needs_qe() {
        let paths = resolve_embedder(g, embedder)?;
        let e = load_embedder(&paths, &dich::model::device::select(device_spec)?)?;
        opts.candidates.qe = Some(dich::translate::select::Qe(std::sync::Arc::new(e)));
    }
    Ok(())
}
