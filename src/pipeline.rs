//! The translate pipeline end to end, on plain data: input text -> segments
//! with spans -> translations -> a [`TranslationDocument`]. The binary and the
//! batch runner call this; it prints nothing.

use std::time::Instant;

use crate::backend::LoadedLm;
use crate::error::{Error, Result};
use crate::input::Input;
use crate::models::ModelPaths;
use crate::output::{ModelRef, SegmentOut, Stats, TranslationDocument};
use crate::text::segment;
use crate::translate::{TranslateOptions, Translator};

/// Translates `input` with a loaded model. `progress` is told the number of
/// segments once, then called after each segment.
pub fn translate_document(
    lm: &LoadedLm,
    model: &ModelPaths,
    input: &Input,
    opts: &TranslateOptions,
    progress: &dyn Fn(ProgressEvent),
) -> Result<TranslationDocument> {
    let start = Instant::now();
    let segments = segment(&input.text);
    if segments.is_empty() {
        return Err(Error::NothingToTranslate {
            input: input.name.clone(),
        });
    }
    progress(ProgressEvent::Start(segments.len()));
    let mut translator = Translator::new(lm, opts.clone())?;
    let results = translator
        .translate_segments(&input.text, &segments, |_| progress(ProgressEvent::Segment))?;
    let run = translator.stats().clone();
    let segments = segments
        .iter()
        .zip(results)
        .map(|(s, r)| SegmentOut {
            id: s.id,
            paragraph: s.paragraph,
            kind: s.kind,
            source: s.text(&input.text).to_string(),
            source_span: [s.start, s.end],
            target: r.target,
            flags: r.flags,
        })
        .collect();
    Ok(TranslationDocument {
        source_lang: opts.from,
        target_lang: opts.to,
        model: ModelRef {
            name: model.name.clone(),
            sha256: model.sha256.clone(),
        },
        segments,
        stats: Stats {
            load_s: round(lm.load_seconds),
            prompt_tokens: run.prompt_tokens,
            generated_tokens: run.generated_tokens,
            prompt_s: round(run.prompt_s),
            generate_s: round(run.generate_s),
            wall_s: round(start.elapsed().as_secs_f64() + lm.load_seconds),
        },
    })
}

#[derive(Debug, Clone, Copy)]
pub enum ProgressEvent {
    Start(usize),
    Segment,
}

fn round(s: f64) -> f64 {
    (s * 1000.0).round() / 1000.0
}
