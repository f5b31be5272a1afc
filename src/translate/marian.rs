//! Sentence-by-sentence translation with an encoder-decoder model (Marian /
//! OPUS-MT): each segment is one source sentence, translated without
//! prompts. Sentences are sorted by length and decoded in batches (a batch
//! gives exactly what each sentence gives alone, see `crate::model::marian`),
//! so the order of the document does not change any output.

use std::time::Instant;

use super::{check, OnSegment, RunStats, SegmentTranslation, Translated, Translator};
use crate::decode::seq2seq::generate;
use crate::decode::DecodingOptions;
use crate::error::Result;
use crate::model::marian::MarianMt;
use crate::text::model_text;
use crate::types::{Alternative, Flag, LangPair, Segment, SegmentKind};
use crate::util::num::round_to;

/// Sentences per forward batch unless asked otherwise.
pub const DEFAULT_BATCH_SENTENCES: usize = 16;

/// A translator over a loaded Marian model for its language pair.
pub struct MarianTranslator<'a> {
    mt: &'a MarianMt,
    pair: LangPair,
    decoding: DecodingOptions,
    batch_sentences: usize,
}

impl<'a> MarianTranslator<'a> {
    /// `decoding` is checked here, before any work.
    pub fn new(
        mt: &'a MarianMt,
        pair: LangPair,
        decoding: DecodingOptions,
        batch_sentences: usize,
    ) -> Result<Self> {
        decoding.validate()?;
        Ok(Self {
            mt,
            pair,
            decoding,
            batch_sentences: batch_sentences.max(1),
        })
    }
}

impl Translator for MarianTranslator<'_> {
    fn pair(&self) -> LangPair {
        self.pair
    }

    fn setup_stats(&self) -> RunStats {
        RunStats::default()
    }

    /// `prompt_tokens` counts source tokens; `generate_s` is the time of
    /// encoding and decoding together.
    fn translate(
        &mut self,
        input: &str,
        segments: &[Segment],
        on_segment: OnSegment,
    ) -> Result<Translated> {
        let mt = self.mt;
        let mut out: Vec<Option<SegmentTranslation>> = vec![None; segments.len()];
        let mut stats = RunStats::default();
        // (segment index, model text, source ids, source was cut)
        let mut todo = Vec::new();
        for (i, seg) in segments.iter().enumerate() {
            let source = seg.text(input);
            if seg.kind == SegmentKind::Byline {
                out[i] = Some(SegmentTranslation::verbatim(source));
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
        for batch in todo.chunks(self.batch_sentences) {
            let sources: Vec<&[u32]> = batch.iter().map(|t| t.2.as_slice()).collect();
            let start = Instant::now();
            let results = generate(&mt.model, &sources, &self.decoding)?;
            stats.generate_s += start.elapsed().as_secs_f64();
            stats.prompt_tokens += sources.iter().map(|s| s.len()).sum::<usize>();
            for ((i, text, _, cut), hyps) in batch.iter().zip(results) {
                let Some(best) = hyps.first() else {
                    continue;
                };
                stats.generated_tokens += best.tokens.len() + usize::from(best.finished());
                let target = mt.decode(&best.tokens);
                let mut flags = Vec::new();
                if *cut {
                    flags.push(Flag::SourceTruncated);
                }
                if !best.finished() {
                    flags.push(Flag::Truncated);
                }
                let problems = check::check(&target, text, self.pair.to);
                flags.extend(problems.iter().map(|p| p.flag()));
                for f in super::fidelity::check(text, &target, self.pair) {
                    if !flags.contains(&f.flag) {
                        flags.push(f.flag);
                    }
                }
                let alternatives = if self.decoding.n_best > 1 {
                    hyps.iter()
                        .map(|h| Alternative {
                            target: mt.decode(&h.tokens),
                            score: round_to(h.score as f64, 3),
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                out[*i] = Some(SegmentTranslation {
                    target,
                    flags,
                    alternatives,
                    selection: None,
                });
                on_segment(*i);
            }
        }
        let segments = out
            .into_iter()
            .map(|t| t.ok_or_else(|| crate::Error::Internal("a segment was not translated".into())))
            .collect::<Result<Vec<_>>>()?;
        Ok(Translated { segments, stats })
    }
}
