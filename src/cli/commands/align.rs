//! `dich align A B`: the sentences of two texts in different languages,
//! linked by the DP aligner over embedder margins.

use anyhow::{bail, Result};

use crate::cli::args::{AlignArgs, GlobalArgs};
use crate::cli::common::{emit, load_embedder, model_ref, resolve_embedder};
use crate::cli::options::set_threads;
use dich::align::document::align_documents;
use dich::align::AlignConfig;
use dich::input::read_input;
use dich::model::device;

pub fn run(g: &GlobalArgs, args: AlignArgs) -> Result<()> {
    set_threads(args.threads)?;
    let a = read_input(&args.a)?;
    let b = read_input(&args.b)?;
    if !(args.threshold.is_finite() && args.threshold > 0.0) {
        bail!("--threshold must be a positive number (margins are ratios around 1)");
    }
    let device = device::select(&args.device)?;
    let paths = resolve_embedder(g, args.embedder.as_deref())?;
    let embedder = load_embedder(&paths, &device)?;
    let cfg = AlignConfig {
        threshold: args.threshold,
        ..Default::default()
    };
    let doc = align_documents(&embedder, model_ref(&paths), &a, &b, &cfg)?;
    tracing::info!(
        "{} links between {} and {} segments ({} unlinked in the first, {} in the second) in {:.1}s",
        doc.stats.linked,
        doc.a.segments,
        doc.b.segments,
        doc.stats.unlinked_a,
        doc.stats.unlinked_b,
        doc.stats.wall_s
    );
    emit(
        &dich::render::alignment::render(&doc, args.format.into()),
        args.output.as_deref(),
    )
}
