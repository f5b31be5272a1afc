//! Sentence-by-sentence translation with an encoder-decoder model (Marian /
//! OPUS-MT): each segment is one source sentence, translated without
//! prompts. Sentences are sorted by length and decoded in batches (a batch
//! gives exactly what each sentence gives alone, see `backend::marian`), so
//! the order of the document does not change any output.

use std::time::Instant;

use crate::backend::marian::MarianMt;
use crate::error::Result;
use crate::generate::{generate, GenerateOptions};
use crate::text::{model_text, Segment, SegmentKind};

use super::{check, Lang, RunStats, SegmentTranslation};

/// How an encoder-decoder model translates a document.
#[derive(Debug, Clone)]
pub struct Seq2SeqOptions {
    pub to: Lang,
    pub generate: GenerateOptions,
    /// Sentences per forward batch. Default: 16.
    pub batch_sentences: usize,
}

impl Default for Seq2SeqOptions {
    fn default() -> Self {
        Self {
            to: Lang::En,
            generate: GenerateOptions::default(),
            batch_sentences: 16,
        }
    }
}

/// One segment's translation and, with `n_best > 1`, every hypothesis
/// (best first) with its score.
#[derive(Debug, Clone)]
pub struct Seq2SeqTranslation {
    pub translation: SegmentTranslation,
    pub alternatives: Vec<(String, f32)>,
}

/// Translates every segment of `input`: exactly one result per segment, in
/// order. Bylines are kept verbatim, as by the LLM translator.
/// `on_segment` is called once per segment as results arrive.
pub fn translate_segments(
    mt: &MarianMt,
    input: &str,
    segments: &[Segment],
    opts: &Seq2SeqOptions,
    mut on_segment: impl FnMut(usize),
) -> Result<(Vec<Seq2SeqTranslation>, RunStats)> {
    opts.generate.validate()?;
    let mut out: Vec<Option<Seq2SeqTranslation>> = vec![None; segments.len()];
    let mut stats = RunStats::default();
    // (segment index, model text, source ids, source was cut)
    let mut todo = Vec::new();
    for (i, seg) in segments.iter().enumerate() {
        let source = seg.text(input);
        if seg.kind == SegmentKind::Byline {
            out[i] = Some(Seq2SeqTranslation {
                translation: SegmentTranslation {
                    target: source.trim().to_string(),
                    flags: vec!["verbatim".to_string()],
                },
                alternatives: Vec::new(),
            });
            on_segment(i);
            continue;
        }
        let text = model_text(source);
        let (ids, cut) = mt.encode_source(&text)?;
        if cut {
            tracing::warn!(
                "segment {i}: {} bytes are more than the model's {} positions; the end was cut",
                source.len(),
                mt.model.max_positions()
            );
        }
        todo.push((i, text, ids, cut));
    }
    // Shortest first, so a batch holds sentences of similar length.
    todo.sort_by_key(|t| (t.2.len(), t.0));
    for batch in todo.chunks(opts.batch_sentences.max(1)) {
        let sources: Vec<&[u32]> = batch.iter().map(|t| t.2.as_slice()).collect();
        let start = Instant::now();
        let results = generate(&mt.model, &sources, &opts.generate)?;
        stats.generate_s += start.elapsed().as_secs_f64();
        stats.prompt_tokens += sources.iter().map(|s| s.len()).sum::<usize>();
        for ((i, text, _, cut), hyps) in batch.iter().zip(results) {
            let best = &hyps[0];
            stats.generated_tokens += best.tokens.len() + usize::from(best.finished);
            let target = mt.decode(&best.tokens);
            let mut flags = Vec::new();
            if *cut {
                flags.push("source-truncated".to_string());
            }
            if !best.finished {
                flags.push("truncated".to_string());
            }
            let problems = check::check(&target, text, opts.to);
            flags.extend(problems.iter().map(|p| p.flag().to_string()));
            let alternatives = if opts.generate.n_best > 1 {
                hyps.iter()
                    .map(|h| (mt.decode(&h.tokens), h.score))
                    .collect()
            } else {
                Vec::new()
            };
            out[*i] = Some(Seq2SeqTranslation {
                translation: SegmentTranslation { target, flags },
                alternatives,
            });
            on_segment(*i);
        }
    }
    Ok((
        out.into_iter()
            .map(|t| t.expect("every segment translated"))
            .collect(),
        stats,
    ))
}
