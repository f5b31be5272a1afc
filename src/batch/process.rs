//! One record through the pipeline once it has a translator: translated,
//! then scored and summarized; shared by the one-at-a-time run and the
//! batched one.

use std::time::Instant;

use super::input::{Record, RecordError, Work};
use super::record::{record_error, Processed, Timings};
use super::{BatchOptions, Models, Task};
use crate::input::Input;
use crate::summarize::summarize_documents;
use crate::translate::{translate_with, ProgressEvent, Translator};
use crate::types::{Method, TranslationDocument};
use crate::util::num::round_to;

/// Seconds, rounded to milliseconds, as records and manifests give them.
pub(super) fn secs(d: std::time::Duration) -> f64 {
    round_to(d.as_secs_f64(), 3)
}

/// The translation of one record.
pub(super) fn translate_record(
    translator: &mut dyn Translator,
    models: &Models,
    rec: &Record,
    w: &Work,
    progress: &(dyn Fn(ProgressEvent) + Sync),
) -> std::result::Result<TranslationDocument, RecordError> {
    let input = Input {
        name: rec.label(),
        text: w.text.clone(),
    };
    translate_with(translator, &models.engine.model, &input, progress)
        .map_err(|e| record_error(rec, e))
}

/// A translated record scored (and summarized), with its timings from
/// `start`, when its translation began.
pub(super) fn complete_record(
    models: &Models,
    rec: &Record,
    mut doc: TranslationDocument,
    opts: &BatchOptions,
    start: Instant,
) -> std::result::Result<Processed, RecordError> {
    let translate_s = secs(start.elapsed());
    let summarize = opts.task == Task::Summarize;
    let t_score = Instant::now();
    if opts.score || summarize {
        if let Some((embedder, r)) = &models.embedder {
            crate::align::document::score_document(*embedder, r.clone(), &mut doc)
                .map_err(|e| record_error(rec, e))?;
        }
    }
    let score_s = secs(t_score.elapsed());
    let t_sum = Instant::now();
    let summary = match (&models.embedder, summarize) {
        (Some((embedder, _)), true) => Some(
            summarize_documents(
                (opts.summary.method == Method::Abstractive)
                    .then(|| models.engine.chat())
                    .flatten(),
                *embedder,
                std::slice::from_ref(&doc),
                &opts.summary,
                opts.translate.decoding.seed,
            )
            .map_err(|e| record_error(rec, e))?,
        ),
        _ => None,
    };
    let summarize_s = secs(t_sum.elapsed());
    let s = &doc.stats;
    let timings = Timings {
        wall_s: secs(start.elapsed()),
        translate_s,
        score_s,
        summarize_s,
        prompt_tokens: s.prompt_tokens,
        generated_tokens: s.generated_tokens,
        prompt_s: s.prompt_s,
        generate_s: s.generate_s,
    };
    Ok(Processed {
        doc,
        summary,
        timings,
    })
}

/// A panic while processing `rec`, as an `internal` error record.
pub(super) fn panic_error(rec: &Record, panic: Box<dyn std::any::Any + Send>) -> RecordError {
    let what = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    RecordError::new(
        "internal",
        format!(
            "{}: dich failed unexpectedly ({what}); please report this",
            rec.label()
        ),
    )
}
