//! One `translate_document` for every translator: input text -> segments
//! with spans -> translations -> a [`TranslationDocument`]. The binary, the
//! batch runner and the evaluation call it; it prints nothing.

use std::time::Instant;

use super::{Engine, SegmentTranslation, TranslateOptions, Translator};
use crate::error::Result;
use crate::input::{Input, InputError};
use crate::text::segment;
use crate::types::{LangPair, ModelRef, Segment, SegmentOut, Stats, TranslationDocument};
use crate::util::num::round_to;

/// What a translation reports as it goes: the number of segments once,
/// then one event per translated segment.
#[derive(Debug, Clone, Copy)]
pub enum ProgressEvent {
    Start(usize),
    Segment,
}

/// Translates `input` with a translator made for `pair`, counting the
/// translator's setup (a chat model's instruction prefix) and the model's
/// load time in the document's stats.
pub fn translate_document(
    engine: &Engine,
    pair: LangPair,
    opts: &TranslateOptions,
    input: &Input,
    progress: &(dyn Fn(ProgressEvent) + Sync),
) -> Result<TranslationDocument> {
    let start = Instant::now();
    if segment(&input.text).is_empty() {
        return Err(InputError::NothingToTranslate {
            input: input.name.clone(),
        }
        .into());
    }
    let mut translator = engine.translator(pair, opts)?;
    let setup = translator.setup_stats();
    let mut doc = translate_with(translator.as_mut(), &engine.model, input, progress)?;
    let s = &mut doc.stats;
    s.prompt_tokens += setup.prompt_tokens;
    s.prompt_s = round_to(s.prompt_s + setup.prompt_s, 3);
    s.load_s = round_to(engine.load_seconds, 3);
    s.wall_s = round_to(start.elapsed().as_secs_f64() + engine.load_seconds, 3);
    Ok(doc)
}

/// Translates `input` with an existing translator, so that its setup (a
/// chat model's instruction prefix, computed once) serves many documents:
/// what `dich batch` does. The document's stats count its own work only
/// (`load_s` is 0).
pub fn translate_with(
    translator: &mut dyn Translator,
    model: &ModelRef,
    input: &Input,
    progress: &(dyn Fn(ProgressEvent) + Sync),
) -> Result<TranslationDocument> {
    let start = Instant::now();
    let segments = segments_of(input)?;
    progress(ProgressEvent::Start(segments.len()));
    let run = translator.translate(&input.text, &segments, &|_| {
        progress(ProgressEvent::Segment)
    })?;
    let pair = translator.pair();
    let out = segments
        .iter()
        .zip(run.segments)
        .map(|(s, t)| segment_out(s, &input.text, t))
        .collect();
    let stats = Stats {
        load_s: 0.0,
        prompt_tokens: run.stats.prompt_tokens,
        generated_tokens: run.stats.generated_tokens,
        prompt_s: round_to(run.stats.prompt_s, 3),
        generate_s: round_to(run.stats.generate_s, 3),
        wall_s: round_to(start.elapsed().as_secs_f64(), 3),
    };
    Ok(TranslationDocument {
        input: input.name.clone(),
        source_lang: pair.from,
        target_lang: pair.to,
        model: model.clone(),
        scorer: None,
        segments: out,
        stats,
    })
}

/// The segments of `input`; an input without any is an error naming it.
fn segments_of(input: &Input) -> Result<Vec<Segment>> {
    let segments = segment(&input.text);
    if segments.is_empty() {
        return Err(InputError::NothingToTranslate {
            input: input.name.clone(),
        }
        .into());
    }
    Ok(segments)
}

/// One translated segment as it is written out.
fn segment_out(s: &Segment, text: &str, t: SegmentTranslation) -> SegmentOut {
    SegmentOut {
        id: s.id,
        paragraph: s.paragraph,
        kind: s.kind,
        source: s.text(text).to_string(),
        source_span: [s.start, s.end],
        target: t.target,
        flags: t.flags,
        score: None,
        cosine: None,
        alternatives: t.alternatives,
        selection_score: t.selection.map(|s| crate::util::num::round_to(s, 4)),
    }
}
