//! The translate pipeline end to end, on plain data: input text -> segments
//! with spans -> translations -> a [`TranslationDocument`]. The binary and the
//! batch runner call this; it prints nothing.

use std::time::Instant;

use crate::align::translation::round3;
use crate::align::{align, AlignConfig, Scorer};
use crate::backend::embedder::Embedder;
use crate::backend::LoadedLm;
use crate::error::{Error, Result};
use crate::input::Input;
use crate::models::ModelPaths;
use crate::output::align::{AlignStats, AlignedInput, AlignedLink, AlignmentDocument};
use crate::output::{ModelRef, SegmentOut, Stats, TranslationDocument};
use crate::summarize::abstractive::abstractive;
use crate::summarize::{extractive, Method, Summary, SummaryOptions, Units};
use crate::text::lang::detect;
use crate::text::segment;
use crate::translate::{TranslateOptions, Translator};

/// Translates `input` with a loaded model. `progress` is told the number of
/// segments once, then called after each segment.
pub fn translate_document(
    lm: &LoadedLm,
    model: &ModelPaths,
    input: &Input,
    opts: &TranslateOptions,
    progress: &(dyn Fn(ProgressEvent) + Sync),
) -> Result<TranslationDocument> {
    let start = Instant::now();
    if segment(&input.text).is_empty() {
        return Err(Error::NothingToTranslate {
            input: input.name.clone(),
        });
    }
    let mut translator = Translator::new(lm, opts.clone())?;
    let prefix = translator.prefix_stats().clone();
    let mut doc = translate_with(&mut translator, model, input, progress)?;
    let s = &mut doc.stats;
    s.prompt_tokens += prefix.prompt_tokens;
    s.prompt_s = round(s.prompt_s + prefix.prompt_s);
    s.load_s = round(lm.load_seconds);
    s.wall_s = round(start.elapsed().as_secs_f64() + lm.load_seconds);
    Ok(doc)
}

/// Translates `input` with an existing translator, so that its instruction
/// prefix (computed once) serves many documents: what `dich batch` does.
/// The document's stats count its own work only (`load_s` is 0).
pub fn translate_with(
    translator: &mut Translator,
    model: &ModelPaths,
    input: &Input,
    progress: &(dyn Fn(ProgressEvent) + Sync),
) -> Result<TranslationDocument> {
    let start = Instant::now();
    let segments = segments_of(input)?;
    progress(ProgressEvent::Start(segments.len()));
    translator.take_stats();
    let lanes = translator.options().lanes;
    let (results, batch) =
        translator.translate_segments_lanes(&input.text, &segments, lanes, true, |_| {
            progress(ProgressEvent::Segment)
        })?;
    if batch.passes > 0 {
        tracing::debug!(
            "batched decoding: {} forward passes, {:.2} sequences per pass on average, at most {}",
            batch.passes,
            batch.mean_batch(),
            batch.max_sequences
        );
    }
    let run = translator.take_stats();
    let opts = translator.options();
    let segments = segments
        .iter()
        .zip(results)
        .map(|(s, r)| segment_out(s, &input.text, r, Vec::new()))
        .collect();
    Ok(document(
        input,
        (opts.from, opts.to),
        model,
        segments,
        Stats {
            load_s: 0.0,
            prompt_tokens: run.prompt_tokens,
            generated_tokens: run.generated_tokens,
            prompt_s: round(run.prompt_s),
            generate_s: round(run.generate_s),
            wall_s: round(start.elapsed().as_secs_f64()),
        },
    ))
}

/// Translates `input` with an encoder-decoder model (Marian / OPUS-MT).
/// `prompt_tokens` counts source tokens; `generate_s` is the time of
/// encoding and decoding together.
pub fn translate_document_seq2seq(
    mt: &crate::backend::marian::MarianMt,
    model: &ModelPaths,
    input: &Input,
    from: crate::translate::Lang,
    opts: &crate::translate::seq2seq::Seq2SeqOptions,
    progress: &(dyn Fn(ProgressEvent) + Sync),
) -> Result<TranslationDocument> {
    let start = Instant::now();
    let segments = segments_of(input)?;
    progress(ProgressEvent::Start(segments.len()));
    let (results, run) =
        crate::translate::seq2seq::translate_segments(mt, &input.text, &segments, opts, |_| {
            progress(ProgressEvent::Segment)
        })?;
    let segments = segments
        .iter()
        .zip(results)
        .map(|(s, r)| {
            let alternatives = r
                .alternatives
                .into_iter()
                .map(|(target, score)| crate::output::Alternative {
                    target,
                    score: round3(score),
                })
                .collect();
            segment_out(s, &input.text, r.translation, alternatives)
        })
        .collect();
    Ok(document(
        input,
        (from, opts.to),
        model,
        segments,
        Stats {
            load_s: round(mt.load_seconds),
            prompt_tokens: run.prompt_tokens,
            generated_tokens: run.generated_tokens,
            prompt_s: 0.0,
            generate_s: round(run.generate_s),
            wall_s: round(start.elapsed().as_secs_f64() + mt.load_seconds),
        },
    ))
}

/// The segments of `input`; an input without any is an error naming it.
fn segments_of(input: &Input) -> Result<Vec<crate::text::Segment>> {
    let segments = segment(&input.text);
    if segments.is_empty() {
        return Err(Error::NothingToTranslate {
            input: input.name.clone(),
        });
    }
    Ok(segments)
}

/// One translated segment as it is written out.
fn segment_out(
    s: &crate::text::Segment,
    text: &str,
    t: crate::translate::SegmentTranslation,
    alternatives: Vec<crate::output::Alternative>,
) -> SegmentOut {
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
        alternatives,
    }
}

fn document(
    input: &Input,
    (from, to): (crate::translate::Lang, crate::translate::Lang),
    model: &ModelPaths,
    segments: Vec<SegmentOut>,
    stats: Stats,
) -> TranslationDocument {
    TranslationDocument {
        input: input.name.clone(),
        source_lang: from,
        target_lang: to,
        model: ModelRef {
            name: model.name.clone(),
            sha256: model.sha256.clone(),
        },
        scorer: None,
        segments,
        stats,
    }
}

/// Scores every (source, target) pair of `doc` with `embedder` and adds the
/// scores and any alignment flags (`low-score`, `likely-omission`,
/// `likely-addition`) to its segments. Verbatim segments are not scored.
pub fn score_translation(
    embedder: &dyn Embedder,
    scorer: ModelRef,
    doc: &mut TranslationDocument,
) -> Result<()> {
    let pairs: Vec<(&str, &str)> = doc
        .segments
        .iter()
        .map(|s| (s.source.as_str(), s.target.as_str()))
        .collect();
    let scored: Vec<bool> = doc
        .segments
        .iter()
        .map(|s| !s.flags.iter().any(|f| f == "verbatim") && !s.target.trim().is_empty())
        .collect();
    let scores = crate::align::translation::score_pairs(embedder, &pairs, &scored)?;
    for (seg, sc) in doc.segments.iter_mut().zip(scores) {
        if let Some(sc) = sc {
            seg.score = Some(sc.score);
            seg.cosine = Some(sc.cosine);
            seg.flags.extend(sc.flags);
        }
    }
    doc.scorer = Some(scorer);
    Ok(())
}

/// A summary of translated documents (see [`crate::summarize`]). The model
/// is needed for abstractive summaries only.
pub fn summarize_documents(
    lm: Option<&LoadedLm>,
    embedder: &dyn Embedder,
    docs: &[TranslationDocument],
    opts: &SummaryOptions,
    seed: u64,
) -> Result<Summary> {
    let units = Units::build(docs, embedder)?;
    if units.units.is_empty() {
        return Err(Error::NothingToSummarize);
    }
    match opts.method {
        Method::Extractive => Ok(extractive(&units, docs.len(), opts)),
        Method::Abstractive => {
            let lm = lm.ok_or_else(|| {
                Error::Internal("an abstractive summary needs the language model".into())
            })?;
            abstractive(lm, embedder, docs, &units, opts, seed)
        }
    }
}

/// A translation document given as input: what `dich translate --format
/// json` or `dich summarize --format json` wrote.
pub fn parse_document_json(input: &Input) -> Result<Vec<TranslationDocument>> {
    let bad = |message: String| Error::InvalidDocument {
        input: input.name.clone(),
        message,
    };
    let v: serde_json::Value = serde_json::from_str(&input.text).map_err(|e| {
        bad(format!(
            "invalid JSON at line {}, column {}: {e}",
            e.line(),
            e.column()
        ))
    })?;
    let docs: Vec<TranslationDocument> = if v.get("documents").is_some() {
        serde_json::from_value(v["documents"].clone()).map_err(|e| {
            bad(format!(
                "`documents` is not a list of translation documents: {e}"
            ))
        })?
    } else if v.get("segments").is_some() {
        vec![serde_json::from_value(v)
            .map_err(|e| bad(format!("not a dich translation document: {e}")))?]
    } else {
        return Err(bad(
            "JSON input must be a translation document (`dich translate --format json`), with `segments`".into(),
        ));
    };
    for d in &docs {
        if d.source_lang == d.target_lang {
            return Err(bad(format!(
                "source and target language are both `{}`",
                d.source_lang.code()
            )));
        }
        if d.segments.is_empty() {
            return Err(bad("the document has no segments".into()));
        }
    }
    Ok(docs)
}

/// Aligns the sentences of two texts (any mix of Vietnamese and English)
/// with the DP aligner over margin scores; see [`crate::align`].
pub fn align_documents(
    embedder: &dyn Embedder,
    embedder_ref: ModelRef,
    a: &Input,
    b: &Input,
    cfg: &AlignConfig,
) -> Result<AlignmentDocument> {
    let start = Instant::now();
    let sa = segment(&a.text);
    let sb = segment(&b.text);
    for (input, segs) in [(a, &sa), (b, &sb)] {
        if segs.is_empty() {
            return Err(Error::NothingToTranslate {
                input: input.name.clone(),
            });
        }
    }
    let ta: Vec<&str> = sa.iter().map(|s| s.text(&a.text)).collect();
    let tb: Vec<&str> = sb.iter().map(|s| s.text(&b.text)).collect();
    let scores = Scorer { embedder }.scores(&ta, &tb)?;
    let links = align(sa.len(), sb.len(), &scores, cfg);
    let side = |ids: &[usize], segs: &[crate::text::Segment], text: &str| {
        let spans: Vec<[usize; 2]> = ids.iter().map(|&i| [segs[i].start, segs[i].end]).collect();
        let joined = ids
            .iter()
            .map(|&i| segs[i].text(text))
            .collect::<Vec<_>>()
            .join(" ");
        (spans, joined)
    };
    let links: Vec<AlignedLink> = links
        .into_iter()
        .map(|l| {
            let (a_spans, a_text) = side(&l.a, &sa, &a.text);
            let (b_spans, b_text) = side(&l.b, &sb, &b.text);
            AlignedLink {
                kind: l.kind,
                a: l.a.iter().map(|&i| sa[i].id).collect(),
                b: l.b.iter().map(|&i| sb[i].id).collect(),
                a_spans,
                b_spans,
                a_text,
                b_text,
                score: round3(l.score),
                cosine: round3(l.cosine),
            }
        })
        .collect();
    let linked = links
        .iter()
        .filter(|l| !l.a.is_empty() && !l.b.is_empty())
        .count();
    let unlinked_a = links.iter().filter(|l| l.b.is_empty()).count();
    let unlinked_b = links.iter().filter(|l| l.a.is_empty()).count();
    Ok(AlignmentDocument {
        a: AlignedInput {
            input: a.name.clone(),
            lang: detect(&a.text),
            segments: sa.len(),
        },
        b: AlignedInput {
            input: b.name.clone(),
            lang: detect(&b.text),
            segments: sb.len(),
        },
        embedder: embedder_ref,
        threshold: cfg.threshold,
        links,
        stats: AlignStats {
            linked,
            unlinked_a,
            unlinked_b,
            wall_s: round(start.elapsed().as_secs_f64()),
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
